// The run directory's record: results.json holds every finished unit of work (a crafting model, a release,
// a trained victim) under a key that digests everything it depends on, and is replaced atomically after
// each unit, so a killed run loses at most the unit in progress and a re-run skips what is recorded.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Cell } from "../report/index.js";
import { type EpochRecord, type StoppedAccuracy, type TestAccuracies, testAccuracies } from "../train/index.js";
import { writeFileAtomic } from "../util/atomic.js";
import { VERSION } from "../util/version.js";

export const RESULTS_JSON = "results.json";
export const RESULTS_CSV = "results.csv";
export const SUMMARY_CSV = "summary.csv";

/** A short stable digest of JSON-able settings (key order matters: build them in a fixed order). */
export function digestOf(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 12);
}

export interface CrafterUnit {
  kind: "crafter";
  key: string;
  path: string;
  model: string;
  epochs: number;
  images: number;
  sha256: string;
  seconds: number;
  finished: string;
}

export interface ReleaseUnit {
  kind: "release";
  key: string;
  /** Directory of the release (its own dataset, with manifest.json). */
  dir: string;
  /** The poison method. */
  method: string;
  eps: number;
  steps: number;
  plan_digest: string;
  count: number;
  poisoned: number;
  max_linf: number;
  mean_l2: number;
  attack_success: number;
  seconds: number;
  finished: string;
}

/**
 * test_acc is the last epoch's clean test accuracy, peak_test_acc the best epoch's (peak_epoch). A victim judged
 * on an even-odd test split (VictimSpec.testSplit) also has the early-stopped accuracy: the epoch chosen on the
 * validation_images, its accuracy on the test_images.
 */
export interface VictimUnit extends TestAccuracies, Partial<StoppedAccuracy> {
  kind: "victim";
  key: string;
  /** The condition (table row) it belongs to, and its run number (1-based). */
  condition: string;
  run: number;
  seed: number;
  model: string;
  epochs: number;
  train_images: number;
  test_images: number;
  validation_images?: number;
  train_acc: number;
  history: EpochRecord[];
  seconds: number;
  finished: string;
}

export type Unit = CrafterUnit | ReleaseUnit | VictimUnit;

/** One table row: a condition's victims summarised. */
export interface SummaryRow {
  condition: string;
  cells: Record<string, Cell>;
  runs: number;
  /** The victims' epochs (null when none ran). */
  victim_epochs: number | null;
  /** Final (last-epoch) clean test accuracy over the victims. */
  test_acc_mean: number | null;
  test_acc_sd: number | null;
  test_accs: number[];
  /** Peak (best-epoch) clean test accuracy over the victims. */
  peak_test_acc_mean: number | null;
  peak_test_acc_sd: number | null;
  peak_test_accs: number[];
  release: string | null;
  attack_success: number | null;
  /** Set when the condition was not run, with the reason. */
  skipped: string | null;
}

export interface ResultsFile {
  tool: "advpoison";
  version: string;
  experiment: string;
  created: string;
  updated: string;
  /** "scaled-down" or "full", "+ overrides" when flags changed the config. */
  scale: string;
  scale_note: string;
  config: unknown;
  units: Record<string, Unit>;
  summary: SummaryRow[];
  files: Record<string, string>;
}

export class ResultsStore {
  readonly path: string;
  readonly data: ResultsFile;

  private constructor(
    readonly dir: string,
    data: ResultsFile,
  ) {
    this.path = join(dir, RESULTS_JSON);
    this.data = data;
  }

  /** Opens `dir`/results.json (creating the directory), keeping the units of earlier runs. */
  static open(dir: string, experiment: string): ResultsStore {
    mkdirSync(dir, { recursive: true });
    const path = join(dir, RESULTS_JSON);
    const now = new Date().toISOString();
    if (existsSync(path)) {
      let data: ResultsFile;
      try {
        data = JSON.parse(readFileSync(path, "utf-8")) as ResultsFile;
      } catch (e) {
        throw new Error(`${path}: unreadable (${(e as Error).message}); move it away to start over`);
      }
      if (data.experiment !== experiment)
        throw new Error(`${path} belongs to experiment '${data.experiment}', not '${experiment}'; use another --out`);
      data.units ??= {};
      for (const [key, u] of Object.entries(data.units)) {
        if (u.kind === "victim" && u.peak_test_acc === undefined) data.units[key] = withPeak(u);
        if (u.kind === "release" && u.method === undefined) data.units[key] = withMethod(u);
      }
      return new ResultsStore(dir, data);
    }
    return new ResultsStore(dir, {
      tool: "advpoison",
      version: VERSION,
      experiment,
      created: now,
      updated: now,
      scale: "",
      scale_note: "",
      config: null,
      units: {},
      summary: [],
      files: {},
    });
  }

  get<K extends Unit["kind"]>(key: string, kind: K): Extract<Unit, { kind: K }> | undefined {
    const u = this.data.units[key];
    return u && u.kind === kind ? (u as Extract<Unit, { kind: K }>) : undefined;
  }

  /** Records a finished unit and writes results.json at once. */
  record(unit: Unit): void {
    this.data.units[unit.key] = unit;
    this.save();
  }

  save(): void {
    this.data.updated = new Date().toISOString();
    writeFileAtomic(this.path, `${JSON.stringify(this.data, null, 2)}\n`);
  }
}

/** A victim recorded before units held peak accuracy, with it derived from its history. */
function withPeak(u: VictimUnit): VictimUnit {
  const { peak_test_acc, peak_epoch } = testAccuracies(u.history);
  return { ...u, peak_test_acc, peak_epoch };
}

/** A release recorded when units called the method `recipe`, under today's name. */
function withMethod(u: ReleaseUnit): ReleaseUnit {
  const { recipe, ...rest } = u as ReleaseUnit & { recipe: string };
  return { ...rest, method: recipe };
}

/** RFC 4180 CSV: fields with commas, quotes or line breaks are quoted. */
export function toCsv(columns: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const field = (v: Cell | undefined): string => {
    const s = v === null || v === undefined ? "" : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return `${[columns, ...rows].map((r) => r.map(field).join(",")).join("\n")}\n`;
}
