// `advpoison audit`: what a determined trainer still gets from a release. Victims are trained on the release under
// a battery of defences and, with the same victims, defences and seeds, on the clean source; each is scored at its
// last epoch and at the epoch a defender would stop at, chosen on the even-indexed half of the clean test split
// and scored on the odd-indexed half. The answer is the worst case (the row whose early-stopped score on the
// release is highest) and the protection: the plain victim's early-stopped score on clean data minus it.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { methodOf } from "../../poison/index.js";
import { meanSd, REPORT_HTML, writeReport } from "../../report/index.js";
import { getNumThreads } from "../../torch/index.js";
import { type Progress, silentProgress } from "../../train/index.js";
import { writeFileAtomic } from "../../util/atomic.js";
import { MARKER_FILE, outputKind, writeMarker } from "../../util/ownership.js";
import type { DefenseChoice } from "../defenses/index.js";
import { Runner } from "../runner.js";
import { ResultsStore, type VictimUnit } from "../store.js";
import { type AuditRowPlan, auditRows, checkVictims, defaultVictims } from "./battery.js";
import { type AuditInputs, type AuditSource, openAuditInputs } from "./check.js";
import { auditReport } from "./report.js";
import { perturbationSurvival, type SurvivalRow } from "./survival.js";

export const AUDIT_JSON = "audit.json";
/** What the run directory's results.json is recorded as (ResultsStore refuses another experiment's). */
const STORE_NAME = "audit";
/** How the test split is divided, in words for the report and the JSON. */
export const SPLIT_NOTE =
  "the stopping epoch is chosen on the even-indexed images of the clean test split (validation half) and scored " +
  "on the odd-indexed images (scoring half)";

export interface AuditOptions extends AuditSource {
  defenses: readonly DefenseChoice[];
  /** Victim architectures; default defaultVictims(manifest). The first trains with every defence. */
  victims?: readonly string[];
  epochs: number;
  seeds: number;
  /** The first n test images are split into the halves; default (null) the whole test split. */
  testSubset?: number | null;
  precision: "fp32" | "bf16" | "auto";
  device: string;
  out: string;
  progress?: Progress;
  /** The command line, recorded in audit.json. */
  command?: string;
}

/** A row's victims: on the release and their clean counterparts. */
export interface AuditRow {
  defense: string;
  settings: string;
  victim: string;
  seeds: number;
  /** Accuracy on the scoring half after the last epoch, mean and sd over seeds. */
  final: number;
  final_sd: number;
  /** At the epoch chosen on the validation half. */
  stopped: number;
  stopped_sd: number;
  /** The chosen epoch (the lower median over seeds) and each seed's. */
  stopped_epoch: number;
  stopped_epochs: number[];
  clean_final: number;
  clean_final_sd: number;
  clean_stopped: number;
  clean_stopped_sd: number;
}

export interface AuditResult {
  worst_case: { defense: string; victim: string; acc: number };
  /** The plain victim (main architecture, no defence) on the clean source, early-stopped. */
  clean_acc: number;
  /** clean_acc - worst_case.acc. */
  protection: number;
  /** The plain victim on the release, early-stopped. */
  plain_stopped_acc: number;
  rows: AuditRow[];
  skipped: { defense: string; victim: string; reason: string }[];
  /** What of the perturbation reaches a victim through each defence that is a function of the images. */
  survival: SurvivalRow[];
  split: string;
  /** The sizes of the test split's halves. */
  validation_images: number;
  scoring_images: number;
  victims: string[];
  /** The main victim's battery, as given (skipped ones too). */
  defenses: string[];
  victim_seeds: number[];
  epochs: number;
  release: {
    dir: string;
    /** The method, eps and a digest of its files' hashes. */
    id: string;
    method: string;
    eps: number;
    steps: number;
    subset: number | null;
    count: number;
    options: Record<string, unknown>;
  };
  source: string;
  precision: string;
  threads: number;
  command: string | null;
  victims_trained: number;
  victims_reused: number;
  /** This run's wall time; victim_seconds: the training time of every victim, whichever run trained it. */
  seconds: number;
  victim_seconds: number;
  results: string;
  report: string;
  audit_json: string;
}

/**
 * Throws unless `out` is absent, empty or marked as advpoison's audit: results and a report written into a user's
 * folder would make it look like advpoison's.
 */
function checkOutDir(out: string): void {
  if (!existsSync(out) || readdirSync(out).length === 0) return;
  const kind = outputKind(out);
  if (kind === "audit") return;
  throw new Error(
    `${out} is not empty and not an advpoison audit (it holds ${kind ? `advpoison's ${kind}` : `no valid ${MARKER_FILE}`}); choose another --out`,
  );
}

export async function runAudit(o: AuditOptions): Promise<AuditResult> {
  const t0 = performance.now();
  const progress = o.progress ?? silentProgress;
  // Everything is checked before the first file is written.
  const victims = o.victims?.length ? [...o.victims] : undefined;
  if (victims) checkVictims(victims);
  checkOutDir(o.out);
  const inputs = openAuditInputs(o);
  const victimList = [...new Set(victims ?? defaultVictims(inputs.manifest))];
  const plans = auditRows({
    defenses: o.defenses,
    victims: victimList,
    epochs: o.epochs,
    testSubset: o.testSubset ?? null,
    channels: inputs.source.channels,
    numClasses: inputs.source.numClasses,
  });
  const config = {
    dataset: o.source,
    dataDir: o.dataDir ?? null,
    subset: inputs.subset,
    testSubset: o.testSubset ?? null,
    seed: 0,
    runs: o.seeds,
    device: o.device,
    precision: o.precision,
  };
  const store = ResultsStore.open(o.out, STORE_NAME);
  writeMarker(o.out, "audit");
  const runner = new Runner(config, store, progress, { train: inputs.source, test: inputs.test });
  try {
    store.data.config = {
      release: o.releaseDir,
      release_id: inputs.releaseId,
      ...config,
      defenses: o.defenses.map((d) => d.label),
      victims: victimList,
      epochs: o.epochs,
      seeds: o.seeds,
    };
    store.data.scale = "audit";
    store.data.scale_note = SPLIT_NOTE;
    store.save();
    const trained = await trainAll(runner, plans, inputs, progress);
    const survival = perturbationSurvival(
      inputs.release,
      inputs.source,
      plans.filter((p) => !p.skip && p.victim === victimList[0]).map((p) => p.defense),
    );
    const result = summarise(o, inputs, plans, trained, survival, runner, victimList, (performance.now() - t0) / 1000);
    const report = writeReport(o.out, auditReport(result, plans, trained, inputs));
    store.data.files = { report: report.html, report_json: report.json, audit_json: result.audit_json };
    store.save();
    writeFileAtomic(result.audit_json, `${JSON.stringify(result, null, 2)}\n`);
    return result;
  } finally {
    runner.dispose();
  }
}

/** Every row's victims, release then clean, seed after seed; recorded ones are reused. */
async function trainAll(
  runner: Runner,
  plans: readonly AuditRowPlan[],
  inputs: AuditInputs,
  progress: Progress,
): Promise<Map<string, VictimUnit[]>> {
  const runs = runner.config.runs;
  const jobs = plans
    .filter((p) => !p.skip)
    .flatMap((p) =>
      [p.release, p.clean].flatMap((c) =>
        Array.from({ length: runs }, (_, k) => ({ p, c, run: k + 1, on: c === p.release ? "release" : "clean" })),
      ),
    );
  const keyOf = (j: (typeof jobs)[number]) =>
    runner.victimKey(j.c, j.run, j.on === "release" ? inputs.releaseId : null);
  const recorded = jobs.filter((j) => runner.store.get(keyOf(j), "victim")).length;
  progress.log(
    `audit: ${jobs.length} victims (${plans.filter((p) => !p.skip).length} rows x ${runs} seed${runs === 1 ? "" : "s"} ` +
      `x release and clean), ${recorded} recorded from an earlier run`,
  );
  for (const p of plans.filter((x) => x.skip)) progress.log(`${p.victim} with ${p.defense.label}: skipped (${p.skip})`);
  const out = new Map<string, VictimUnit[]>();
  for (const [k, j] of jobs.entries()) {
    const seed = runner.victimSeed(j.run);
    const done = runner.store.get(keyOf(j), "victim") !== undefined;
    progress.log(
      `victim ${k + 1}/${jobs.length}: ${j.p.victim} with ${j.p.defense.label} on the ${j.on}, seed ${seed}` +
        (done ? " (recorded, reused)" : ""),
    );
    const data = j.on === "release" ? inputs.release : inputs.source;
    const unit = await runner.victim(j.c, j.run, j.on === "release" ? inputs.releaseId : null, data);
    out.set(j.c.id, [...(out.get(j.c.id) ?? []), unit]);
  }
  return out;
}

const lowerMedian = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

function summarise(
  o: AuditOptions,
  inputs: AuditInputs,
  plans: readonly AuditRowPlan[],
  trained: ReadonlyMap<string, VictimUnit[]>,
  survival: SurvivalRow[],
  runner: Runner,
  victims: string[],
  seconds: number,
): AuditResult {
  const stat = (id: string, key: "test_acc" | "stopped_test_acc") =>
    meanSd((trained.get(id) ?? []).map((u) => u[key] ?? Number.NaN));
  const rows = plans
    .filter((p) => !p.skip)
    .map((p): AuditRow => {
      const final = stat(p.release.id, "test_acc");
      const stopped = stat(p.release.id, "stopped_test_acc");
      const cleanFinal = stat(p.clean.id, "test_acc");
      const cleanStopped = stat(p.clean.id, "stopped_test_acc");
      const epochs = (trained.get(p.release.id) ?? []).map((u) => u.stopped_epoch ?? Number.NaN);
      return {
        defense: p.defense.label,
        settings: p.settings,
        victim: p.victim,
        seeds: epochs.length,
        final: final.mean,
        final_sd: final.sd,
        stopped: stopped.mean,
        stopped_sd: stopped.sd,
        stopped_epoch: lowerMedian(epochs),
        stopped_epochs: epochs,
        clean_final: cleanFinal.mean,
        clean_final_sd: cleanFinal.sd,
        clean_stopped: cleanStopped.mean,
        clean_stopped_sd: cleanStopped.sd,
      };
    });
  // The first row is the main victim without a defence (auditRows puts "none" first).
  const plain = rows[0]!;
  const worst = rows.reduce((w, r) => (r.stopped > w.stopped ? r : w), plain);
  const units = [...trained.values()].flat();
  const plan = inputs.manifest.plan;
  const { recipe: method, eps, steps, dataset, crafters, ...options } = plan;
  return {
    worst_case: { defense: worst.defense, victim: worst.victim, acc: worst.stopped },
    clean_acc: plain.clean_stopped,
    protection: plain.clean_stopped - worst.stopped,
    plain_stopped_acc: plain.stopped,
    rows,
    skipped: plans.filter((p) => p.skip).map((p) => ({ defense: p.defense.label, victim: p.victim, reason: p.skip! })),
    survival,
    split: SPLIT_NOTE,
    validation_images: units[0]?.validation_images ?? 0,
    scoring_images: units[0]?.test_images ?? 0,
    victims,
    defenses: plans.filter((p) => p.victim === victims[0]).map((p) => p.defense.label),
    victim_seeds: Array.from({ length: o.seeds }, (_, k) => runner.victimSeed(k + 1)),
    epochs: o.epochs,
    release: {
      dir: o.releaseDir,
      id: inputs.releaseId,
      method,
      eps,
      steps,
      subset: dataset.subset,
      count: dataset.count,
      options: {
        ...options,
        crafters: crafters.map((c) => c.model),
        // Methods without an attack (random noise, LSP) have no success to report.
        attack_success: methodOf(method).attacks ? inputs.manifest.summary.attack_success : null,
      },
    },
    source: o.source,
    precision: runner.precision,
    threads: getNumThreads(),
    command: o.command ?? null,
    victims_trained: runner.stats.victimsTrained,
    victims_reused: runner.stats.victimsReused,
    seconds,
    victim_seconds: units.reduce((s, u) => s + u.seconds, 0),
    results: runner.store.path,
    report: join(o.out, REPORT_HTML),
    audit_json: join(o.out, AUDIT_JSON),
  };
}
