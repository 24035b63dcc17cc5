// Running an experiment: its conditions' releases and victims as resumable units (results.json), summarised
// per condition; output.ts then writes the CSVs and the report from what the run produced.
import { join } from "node:path";
import type { Dataset } from "../data/index.js";
import { methodOf } from "../poison/index.js";
import { meanSd, writeReport } from "../report/index.js";
import { type Progress, recipe, silentProgress } from "../train/index.js";
import type { ConfigOf, ExperimentName, ResolvedConfig } from "./config/index.js";
import { relabel, withBudget } from "./derive.js";
import { EXPERIMENTS, type ExperimentDef } from "./experiments.js";
import { type Outcome, reportData, writeSummaryCsv, writeVictimsCsv } from "./output.js";
import { type Condition, type LoadedRelease, Runner, type RunStats } from "./runner.js";
import { RESULTS_CSV, ResultsStore, SUMMARY_CSV, type SummaryRow, type VictimUnit } from "./store.js";

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
  const attack = c.experiment === "methods" ? "adversarial poisons" : `${p.method} poisons`;
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
      if (c.labels === "permuted") data = relabel(data, runner.permutation);
      if (c.labels === "predicted") data = { ...data, labels: await runner.predictions(data) };
      const units: VictimUnit[] = [];
      for (let run = 1; run <= config.runs; run++) units.push(await runner.victim(c, run, rel?.id ?? null, data));
      victims.set(c.id, units);
    }

    const rows = summarise(conditions, victims, releases);
    store.data.summary = rows;

    const dir = config.out;
    const csv = join(dir, RESULTS_CSV);
    const summaryCsv = join(dir, SUMMARY_CSV);
    const seconds = (performance.now() - t0) / 1000;
    const outcome: Outcome<N> = {
      name,
      def,
      resolved,
      scaleNote,
      conditions,
      rows,
      victims,
      releases,
      train: runner.train,
      stats: { ...runner.stats },
      seconds,
    };
    writeVictimsCsv(csv, outcome);
    writeSummaryCsv(summaryCsv, outcome);
    const report = writeReport(dir, reportData(outcome));
    store.data.files = { csv, summary_csv: summaryCsv, report: report.html, report_json: report.json };
    store.save();
    return {
      experiment: name,
      dir,
      results: store.path,
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

/** One summary row per condition: its victims' final and peak accuracies, its release's attack success. */
export function summarise(
  conditions: readonly Condition[],
  victims: ReadonlyMap<string, VictimUnit[]>,
  releases: ReadonlyMap<string, LoadedRelease>,
): SummaryRow[] {
  return conditions.map((c): SummaryRow => {
    const units = victims.get(c.id) ?? [];
    const accs = units.map((u) => u.test_acc);
    const peaks = units.map((u) => u.peak_test_acc);
    const final = meanSd(accs);
    const peak = meanSd(peaks);
    const rel = releases.get(c.id);
    return {
      condition: c.id,
      cells: c.cells,
      runs: units.length,
      victim_epochs: units[0]?.epochs ?? null,
      test_acc_mean: units.length ? final.mean : null,
      test_acc_sd: units.length ? final.sd : null,
      test_accs: accs,
      peak_test_acc_mean: units.length ? peak.mean : null,
      peak_test_acc_sd: units.length ? peak.sd : null,
      peak_test_accs: peaks,
      release: rel?.id ?? null,
      attack_success: rel && methodOf(rel.unit.method).attacks ? rel.unit.attack_success : null,
      skipped: c.skip ?? null,
    };
  });
}
