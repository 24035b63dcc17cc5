// An experiment's output, from what a run produced: results.csv (one row per victim), summary.csv (one row
// per condition), the HTML report and the terminal table.
import type { Dataset } from "../data/index.js";
import { METHODS } from "../poison/index.js";
import {
  type Cell,
  formatMeanSd,
  formatPeak,
  formatPercent,
  type ImageGrid,
  meanSd,
  perturbationGrid,
  RELEASE_COLUMNS,
  type ReportCurve,
  type ReportData,
  releaseRow,
} from "../report/index.js";
import { writeFileAtomic } from "../util/atomic.js";
import type { ConfigOf, ExperimentName, ResolvedConfig } from "./config/index.js";
import type { ExperimentDef } from "./experiments.js";
import type { Condition, LoadedRelease, RunStats } from "./runner.js";
import { type ReleaseUnit, type SummaryRow, toCsv, type VictimUnit } from "./store.js";

/** What a run of an experiment produced: every output is a function of it. */
export interface Outcome<N extends ExperimentName> {
  name: N;
  def: ExperimentDef<N>;
  resolved: ResolvedConfig<N>;
  scaleNote: string;
  conditions: readonly Condition[];
  rows: readonly SummaryRow[];
  /** Per condition id: its victims, and its release if it has one. */
  victims: ReadonlyMap<string, VictimUnit[]>;
  releases: ReadonlyMap<string, LoadedRelease>;
  /** The training set the experiment ran on. */
  train: Dataset;
  stats: RunStats;
  seconds: number;
}

/** results.csv: one row per victim. */
export function writeVictimsCsv<N extends ExperimentName>(path: string, o: Outcome<N>): void {
  const { name, def, conditions, victims, releases } = o;
  const perRun = conditions.flatMap((c) =>
    (victims.get(c.id) ?? []).map((u): Cell[] => [
      name,
      c.id,
      ...def.columns.map((k) => c.cells[k] ?? null),
      u.run,
      u.seed,
      u.model,
      u.epochs,
      u.train_images,
      u.test_images,
      u.test_acc,
      u.peak_test_acc,
      u.peak_epoch,
      u.train_acc,
      +u.seconds.toFixed(1),
      releases.get(c.id)?.id ?? null,
      u.key,
    ]),
  );
  writeFileAtomic(
    path,
    toCsv(
      [
        "experiment",
        "condition",
        ...def.columns,
        "run",
        "seed",
        "model",
        "epochs",
        "train_images",
        "test_images",
        "test_acc",
        "peak_test_acc",
        "peak_epoch",
        "train_acc",
        "seconds",
        "release",
        "key",
      ],
      perRun,
    ),
  );
}

/** summary.csv: one row per condition. */
export function writeSummaryCsv<N extends ExperimentName>(path: string, o: Outcome<N>): void {
  const { name, def, rows } = o;
  writeFileAtomic(
    path,
    toCsv(
      [
        "experiment",
        "condition",
        ...def.columns,
        "runs",
        "victim_epochs",
        "test_acc_mean",
        "test_acc_sd",
        "peak_test_acc_mean",
        "peak_test_acc_sd",
        "attack_success",
        "release",
        "skipped",
      ],
      rows.map((r) => [
        name,
        r.condition,
        ...def.columns.map((k) => r.cells[k] ?? null),
        r.runs,
        r.victim_epochs,
        r.test_acc_mean,
        r.test_acc_sd,
        r.peak_test_acc_mean,
        r.peak_test_acc_sd,
        r.attack_success,
        r.release,
        r.skipped,
      ]),
    ),
  );
}

/** A plain-text table for the terminal. */
export function textTable(columns: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = (v: Cell) => (v === null ? "–" : String(v));
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => text(r[i] ?? null).length)));
  const line = (r: readonly Cell[]) =>
    r
      .map((v, i) => text(v).padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(columns), ...rows.map(line)].join("\n");
}

/** The table rows as shown: the experiment's cells, final and peak accuracy mean +- sd, runs, attack success. */
export function tableRows(def: { columns: string[] }, rows: readonly SummaryRow[]): Cell[][] {
  return rows.map((r) => [
    ...def.columns.map((k) => r.cells[k] ?? null),
    r.skipped ? `skipped: ${r.skipped}` : formatMeanSd(r.test_accs, 2),
    r.skipped ? "–" : formatMeanSd(r.peak_test_accs, 2),
    r.runs,
    r.attack_success === null ? "–" : formatPercent(r.attack_success),
  ]);
}

export const TABLE_COLUMNS = [
  "clean test accuracy, final (mean ± sd)",
  "peak (best epoch)",
  "victims",
  "attack success",
];

/** Per epoch, the mean of `key` over the victims that recorded it. */
export function meanHistory(units: readonly VictimUnit[], key: "testAcc" | "trainAcc" | "valAcc"): [number, number][] {
  const byEpoch = new Map<number, number[]>();
  for (const u of units)
    for (const r of u.history) {
      const v = r[key];
      if (v !== undefined && Number.isFinite(v)) byEpoch.set(r.epoch, [...(byEpoch.get(r.epoch) ?? []), v]);
    }
  return [...byEpoch.entries()].sort((a, b) => a[0] - b[0]).map(([e, vs]) => [e, meanSd(vs).mean]);
}

function flatten(prefix: string, value: unknown, out: Record<string, Cell>): Record<string, Cell> {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(prefix ? `${prefix}.${k}` : k, v, out);
  } else if (Array.isArray(value)) {
    out[prefix] = value.map((v) => (typeof v === "object" ? JSON.stringify(v) : String(v))).join(", ");
  } else {
    out[prefix] = value as Cell;
  }
  return out;
}

/** The report page of a finished run. */
export function reportData<N extends ExperimentName>(o: Outcome<N>): ReportData {
  const { name, def, resolved, scaleNote, conditions, rows, victims, releases, seconds } = o;
  const { config } = resolved;
  const ran = conditions.filter((c) => (victims.get(c.id) ?? []).length > 0);
  const curves: ReportCurve[] = [
    {
      title: "Victims' clean test accuracy per epoch (mean over runs)",
      xLabel: "epoch",
      yLabel: "clean test accuracy",
      yFormat: "percent",
      series: ran.map((c) => ({ name: c.id, points: meanHistory(victims.get(c.id)!, "testAcc") })),
    },
    {
      title: "Victims' training accuracy per epoch (on what they were trained on; mean over runs)",
      xLabel: "epoch",
      yLabel: "training accuracy",
      yFormat: "percent",
      series: ran.map((c) => ({ name: c.id, points: meanHistory(victims.get(c.id)!, "trainAcc") })),
    },
  ];
  // One release's images: the targeted one at full budget if there is one.
  const shown =
    conditions.find((c) => c.release?.method === "targeted" && (c.budget ?? 1) === 1 && releases.has(c.id)) ??
    conditions.find((c) => releases.has(c.id));
  const grids: ImageGrid[] = [];
  if (shown) {
    const rel = releases.get(shown.id)!;
    grids.push(
      perturbationGrid(o.train, rel.data, 3, {
        title: `Clean, poisoned and amplified perturbation: release ${rel.id}`,
      }),
    );
  }
  const relUnits = [...new Map([...releases.values()].map((r) => [r.id, r.unit])).values()] as ReleaseUnit[];
  const allVictims = conditions.flatMap((c) => victims.get(c.id) ?? []);
  const skipped = rows.filter((r) => r.skipped);
  const methods = [...new Set(relUnits.map((u) => u.method))].filter(
    (m) => Object.hasOwn(METHODS, m) && METHODS[m]!.attacks,
  );
  const { full: _full, ...params } = config as ConfigOf<N> & { full?: unknown };
  return {
    title: `advpoison experiment ${name}: ${def.title}`,
    generator: "experiment",
    subtitle: `${def.question} ${scaleNote}`,
    headline: def.headline([...rows]),
    params: {
      scale: resolved.scale,
      "config file": resolved.file ?? "built-in",
      ...flatten("", params, {}),
      "victims trained this run": o.stats.victimsTrained,
      "victims reused from earlier runs": o.stats.victimsReused,
      "releases crafted this run": o.stats.releasesCrafted,
      "releases reused": o.stats.releasesReused,
      seconds: Math.round(seconds),
    },
    tables: [
      {
        title: "Victims' clean test accuracy",
        columns: [...def.columns, ...TABLE_COLUMNS],
        rows: tableRows(def, rows),
        note:
          `Mean ± sample standard deviation over ${config.runs} victim${config.runs === 1 ? "" : "s"} per row ` +
          `(seeds ${config.seed + 1}..${config.seed + config.runs}), each trained from scratch and tested on clean test ` +
          "images after every epoch: final is the last epoch's accuracy, peak the best epoch's (what a defender " +
          `who stops early on clean validation data gets). Attack success: ${methods.map((m) => `${m}: share ${METHODS[m]!.success.long}`).join("; ") || "–"}.`,
      },
      {
        title: "Releases",
        columns: RELEASE_COLUMNS,
        rows: relUnits.map((u) =>
          releaseRow({
            name: u.key.replace(/^release\//, ""),
            method: u.method,
            eps: u.eps,
            steps: u.steps,
            poisoned: u.poisoned,
            count: u.count,
            maxLinf: u.max_linf,
            meanL2: u.mean_l2,
            attackSuccess: u.attack_success,
            seconds: u.seconds,
          }),
        ),
      },
      {
        title: "Every victim",
        columns: [
          "condition",
          "run",
          "seed",
          "model",
          "epochs",
          "train images",
          "test images",
          "test acc (final)",
          "peak test acc",
          "train acc",
          "s",
        ],
        rows: allVictims.map((u) => [
          u.condition,
          u.run,
          u.seed,
          u.model,
          u.epochs,
          u.train_images,
          u.test_images,
          formatPercent(u.test_acc, 2),
          formatPeak(u.peak_test_acc, u.peak_epoch, 2),
          formatPercent(u.train_acc, 2),
          Math.round(u.seconds),
        ]),
      },
    ],
    curves,
    imageGrids: grids,
    notes: [
      `Scale. ${scaleNote}`,
      ...def.notes(config, {
        count: o.train.count,
        channels: o.train.channels,
        numClasses: o.train.numClasses,
      }),
      ...skipped.map((r) => `${r.condition}: skipped, ${r.skipped}.`),
      `Every unit (crafting model, release, victim) is recorded in results.json when it finishes; running the same ` +
        `command again reuses them (this run: ${o.stats.victimsTrained} victims trained, ${o.stats.victimsReused} ` +
        `reused; ${o.stats.releasesCrafted} releases crafted, ${o.stats.releasesReused} reused).`,
    ],
    created: new Date().toISOString(),
  };
}
