// Running an experiment: its conditions' releases and victims as resumable units, then results.json,
// results.csv (one row per victim), summary.csv (one row per condition) and the HTML report.
import { join } from "node:path";
import type { Dataset } from "../data/index.js";
import { METHODS } from "../poison/index.js";
import {
  type Cell,
  formatMeanSd,
  formatPercent,
  type ImageGrid,
  meanSd,
  perturbationGrid,
  RELEASE_COLUMNS,
  type ReportCurve,
  type ReportData,
  releaseRow,
  writeReport,
} from "../report/index.js";
import { type Progress, recipe, silentProgress } from "../train/index.js";
import { writeFileAtomic } from "../util/atomic.js";
import type { ConfigOf, ExperimentName, ResolvedConfig } from "./config.js";
import { relabel, withBudget } from "./derive.js";
import { EXPERIMENTS, type ExperimentDef } from "./experiments.js";
import { type Condition, type LoadedRelease, Runner, type RunStats } from "./runner.js";
import {
  RESULTS_CSV,
  type ReleaseUnit,
  ResultsStore,
  SUMMARY_CSV,
  type SummaryRow,
  toCsv,
  type VictimUnit,
} from "./store.js";

export interface ExperimentOptions {
  progress?: Progress;
  /** The dataset, instead of loading config.dataset (for tests and library use). */
  data?: { train: Dataset; test: Dataset };
}

export interface ExperimentResult {
  experiment: ExperimentName;
  dir: string;
  results: string;
  csv: string;
  summaryCsv: string;
  report: string;
  reportJson: string;
  scale: string;
  scaleNote: string;
  columns: string[];
  rows: SummaryRow[];
  stats: RunStats;
  seconds: number;
}

/** What each recipe's attack-success flag means (from the release manifests). */
const datasetName = (spec: string) => spec.split(":")[0]!;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** The run's scale in one paragraph: what was trained on what, and how it compares with the paper. */
export function describeScale(config: ConfigOf<ExperimentName>, scale: string, train: Dataset, full: Dataset): string {
  const c = config;
  const cr = c.crafter;
  const crafterImages = Math.min(cr.subset ?? full.count, full.count);
  const crafter = cr.path
    ? `crafting model ${cr.path}`
    : `crafting model ${cr.model} (${cr.recipe} recipe, ${plural(cr.epochs ?? recipe(cr.recipe).epochs, "epoch")} on ${crafterImages} images)`;
  const p = c.poison;
  const eps = "eps" in p ? `${p.eps}` : (c as ConfigOf<"eps">).eps.join(", ");
  const attack = c.experiment === "methods" ? "adversarial poisons" : `${p.recipe} poisons`;
  const v = c.victim;
  const victims =
    c.experiment === "transfer"
      ? `victims ${(c as ConfigOf<"transfer">).victims.map((x) => x.model).join(", ")} (epochs and images in the table)`
      : `victims ${v.model} (${v.recipe} recipe, ${plural(v.epochs ?? recipe(v.recipe).epochs, "epoch")})`;
  const head = scale.startsWith("full") ? "Full scale (the paper's settings)" : "Scaled down to finish on 2 CPU cores";
  return (
    `${head}${scale.includes("overrides") ? ", with overrides" : ""}: ${datasetName(c.dataset)}, ` +
    `${train.count === full.count ? "all" : `the first ${train.count} of`} ${full.count} training images; ${crafter}; ` +
    `eps ${eps}/255, ${attack} by ${plural(p.steps, "PGD step")} of ${p.tau} eps, ${plural(p.restarts, "restart")}; ` +
    `${victims}, ${plural(c.runs, "run")} per condition, tested on ` +
    `${c.testSubset === null ? "the whole" : `the first ${c.testSubset} images of the`} clean test set. ` +
    "The paper: CIFAR-10 (50000 images), ResNet-18 crafting model (40 epochs), 250 PGD steps at eps 8/255, " +
    "ResNet-18 victims (40 epochs)."
  );
}

function meanHistory(units: readonly VictimUnit[], key: "testAcc" | "trainAcc"): [number, number][] {
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

export async function runExperiment<N extends ExperimentName>(
  name: N,
  resolved: ResolvedConfig<N>,
  o: ExperimentOptions = {},
): Promise<ExperimentResult> {
  const t0 = performance.now();
  const { config } = resolved;
  const progress = o.progress ?? silentProgress;
  const def = EXPERIMENTS[name] as unknown as ExperimentDef<N>;
  const store = ResultsStore.open(config.out, name);
  const runner = new Runner(config, store, progress, o.data);
  try {
    const shape = { count: runner.train.count, channels: runner.train.channels, numClasses: runner.train.numClasses };
    const conditions = def.conditions(config, shape);
    const ids = new Set<string>();
    for (const c of conditions) {
      if (ids.has(c.id)) throw new Error(`two conditions named '${c.id}'`);
      ids.add(c.id);
    }
    const scaleNote = describeScale(config, resolved.scale, runner.train, runner.fullTrain);
    store.data.config = config;
    store.data.scale = resolved.scale;
    store.data.scale_note = scaleNote;
    store.save();
    progress.log(`experiment ${name}: ${scaleNote}`);

    const victims = new Map<string, VictimUnit[]>();
    const releases = new Map<string, LoadedRelease>();
    for (const c of conditions) {
      if (c.skip) {
        progress.log(`${c.id}: skipped (${c.skip})`);
        continue;
      }
      let data = runner.train;
      let rel: LoadedRelease | null = null;
      if (c.release) {
        rel = await runner.release(c.release);
        releases.set(c.id, rel);
        data = withBudget(runner.train, rel.data, c.budget ?? 1, config.seed);
      }
      if (c.permutedLabels) data = relabel(data, runner.permutation);
      const units: VictimUnit[] = [];
      for (let run = 1; run <= config.runs; run++) units.push(await runner.victim(c, run, rel?.id ?? null, data));
      victims.set(c.id, units);
    }

    const rows = conditions.map((c): SummaryRow => {
      const units = victims.get(c.id) ?? [];
      const accs = units.map((u) => u.test_acc);
      const { mean, sd } = meanSd(accs);
      const rel = releases.get(c.id);
      return {
        condition: c.id,
        cells: c.cells,
        runs: units.length,
        test_acc_mean: units.length ? mean : null,
        test_acc_sd: units.length ? sd : null,
        test_accs: accs,
        release: rel?.id ?? null,
        attack_success: rel && rel.unit.recipe !== "random" ? rel.unit.attack_success : null,
        skipped: c.skip ?? null,
      };
    });
    store.data.summary = rows;

    const dir = config.out;
    const results = store.path;
    const csv = join(dir, RESULTS_CSV);
    const summaryCsv = join(dir, SUMMARY_CSV);
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
        u.train_acc,
        +u.seconds.toFixed(1),
        releases.get(c.id)?.id ?? null,
        u.key,
      ]),
    );
    writeFileAtomic(
      csv,
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
          "train_acc",
          "seconds",
          "release",
          "key",
        ],
        perRun,
      ),
    );
    writeFileAtomic(
      summaryCsv,
      toCsv(
        [
          "experiment",
          "condition",
          ...def.columns,
          "runs",
          "test_acc_mean",
          "test_acc_sd",
          "attack_success",
          "release",
          "skipped",
        ],
        rows.map((r) => [
          name,
          r.condition,
          ...def.columns.map((k) => r.cells[k] ?? null),
          r.runs,
          r.test_acc_mean,
          r.test_acc_sd,
          r.attack_success,
          r.release,
          r.skipped,
        ]),
      ),
    );

    const seconds = (performance.now() - t0) / 1000;
    const report = writeReport(
      dir,
      reportData(name, def, resolved, scaleNote, conditions, rows, victims, releases, runner, seconds),
    );
    store.data.files = { csv, summary_csv: summaryCsv, report: report.html, report_json: report.json };
    store.save();
    return {
      experiment: name,
      dir,
      results,
      csv,
      summaryCsv,
      report: report.html,
      reportJson: report.json,
      scale: resolved.scale,
      scaleNote,
      columns: def.columns,
      rows,
      stats: { ...runner.stats },
      seconds,
    };
  } finally {
    runner.dispose();
  }
}

/** The table rows as shown: the experiment's cells, accuracy mean +- sd, runs, attack success. */
export function tableRows(def: { columns: string[] }, rows: readonly SummaryRow[]): Cell[][] {
  return rows.map((r) => [
    ...def.columns.map((k) => r.cells[k] ?? null),
    r.skipped ? `skipped: ${r.skipped}` : formatMeanSd(r.test_accs, 2),
    r.runs,
    r.attack_success === null ? "–" : formatPercent(r.attack_success),
  ]);
}

export const TABLE_COLUMNS = ["clean test accuracy (mean ± sd)", "victims", "attack success"];

function reportData<N extends ExperimentName>(
  name: N,
  def: ExperimentDef<N>,
  resolved: ResolvedConfig<N>,
  scaleNote: string,
  conditions: readonly Condition[],
  rows: readonly SummaryRow[],
  victims: ReadonlyMap<string, VictimUnit[]>,
  releases: ReadonlyMap<string, LoadedRelease>,
  runner: Runner,
  seconds: number,
): ReportData {
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
      perturbationGrid(runner.train, rel.data, 3, {
        title: `Clean, poisoned and amplified perturbation: release ${rel.id}`,
      }),
    );
  }
  const relUnits = [...new Map([...releases.values()].map((r) => [r.id, r.unit])).values()] as ReleaseUnit[];
  const allVictims = conditions.flatMap((c) => victims.get(c.id) ?? []);
  const skipped = rows.filter((r) => r.skipped);
  const methods = [...new Set(relUnits.map((u) => u.recipe))].filter(
    (m) => Object.hasOwn(METHODS, m) && m !== "random",
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
      "victims trained this run": runner.stats.victimsTrained,
      "victims reused from earlier runs": runner.stats.victimsReused,
      "releases crafted this run": runner.stats.releasesCrafted,
      "releases reused": runner.stats.releasesReused,
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
          `images. Attack success: ${methods.map((m) => `${m}: share ${METHODS[m]!.success.long}`).join("; ") || "–"}.`,
      },
      {
        title: "Releases",
        columns: RELEASE_COLUMNS,
        rows: relUnits.map((u) =>
          releaseRow({
            name: u.key.replace(/^release\//, ""),
            recipe: u.recipe,
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
          "test acc",
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
        count: runner.train.count,
        channels: runner.train.channels,
        numClasses: runner.train.numClasses,
      }),
      ...skipped.map((r) => `${r.condition}: skipped, ${r.skipped}.`),
      `Every unit (crafting model, release, victim) is recorded in results.json when it finishes; running the same ` +
        `command again reuses them (this run: ${runner.stats.victimsTrained} victims trained, ${runner.stats.victimsReused} ` +
        `reused; ${runner.stats.releasesCrafted} releases crafted, ${runner.stats.releasesReused} reused).`,
    ],
    created: new Date().toISOString(),
  };
}
