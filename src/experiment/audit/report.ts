// The audit's page (report.html, through the report layer) from its result: the worst case and the protection as
// the headline, every row beside its clean counterpart with the worst case marked, the victims' curves on the
// scoring half, and the release's images.
import { basename } from "node:path";
import {
  type Cell,
  formatMeanSd,
  formatPercent,
  manifestFacts,
  perturbationGrid,
  RELEASE_COLUMNS,
  type ReportCurve,
  type ReportData,
  releaseRow,
} from "../../report/index.js";
import { meanHistory } from "../output.js";
import type { VictimUnit } from "../store.js";
import type { AuditRowPlan } from "./battery.js";
import type { AuditInputs } from "./check.js";
import type { AuditResult } from "./run.js";

const points = (p: number) => `${(100 * p).toFixed(1)} points`;

export function auditReport(
  r: AuditResult,
  plans: readonly AuditRowPlan[],
  trained: ReadonlyMap<string, VictimUnit[]>,
  inputs: AuditInputs,
): ReportData {
  const m = inputs.manifest;
  const ran = plans.filter((p) => !p.skip);
  const [plain] = r.rows;
  const main = plain!.victim;
  const worstIndex = r.rows.findIndex((x) => x.defense === r.worst_case.defense && x.victim === r.worst_case.victim);
  const units = (id: string) => trained.get(id) ?? [];
  const stopped = (id: string) => formatMeanSd(units(id).map((u) => u.stopped_test_acc ?? Number.NaN));
  const final = (id: string) => formatMeanSd(units(id).map((u) => u.test_acc));
  const rowName = (p: AuditRowPlan) => `${p.victim} ${p.defense.label}`;
  const curve = (on: "release" | "clean", title: string): ReportCurve => ({
    title,
    xLabel: "epoch",
    yLabel: "accuracy on the scoring half",
    yFormat: "percent",
    series: ran.map((p) => ({ name: rowName(p), points: meanHistory(units(p[on].id), "testAcc") })),
  });
  const seeds = r.victim_seeds;
  const seedWords = `${seeds.length} seed${seeds.length === 1 ? "" : "s"} (${seeds.join(", ")})`;
  const images = inputs.source.count;
  return {
    title: `advpoison audit: what a determined trainer gets from ${basename(r.release.dir)}`,
    generator: "audit",
    subtitle:
      `A ${r.release.method} release at eps ${r.release.eps}/255 of ${images} ${r.source} training images. Victims ` +
      `(${r.victims.join(", ")}) trained ${r.epochs} epochs with ${seedWords} on the release under a battery of ` +
      `defences, and each the same way on the clean source; ${r.split}.`,
    headline: [
      {
        label: `clean source: ${main}, no defence`,
        value: formatPercent(r.clean_acc),
        tone: "good",
        detail: `early-stopped score (clean_acc); final ${formatPercent(plain!.clean_final)}`,
      },
      {
        label: `worst case: ${r.worst_case.defense}, ${r.worst_case.victim}`,
        value: formatPercent(r.worst_case.acc),
        tone: "bad",
        detail: "the most a trainer recovers from the release (early-stopped score)",
      },
      {
        label: "protection",
        value: points(r.protection),
        tone: "neutral",
        detail: "clean_acc minus the worst case",
      },
      {
        label: "plain training on the release",
        value: formatPercent(r.plain_stopped_acc),
        tone: "neutral",
        detail: `${main}, no defence, early-stopped; final ${formatPercent(plain!.final)}`,
      },
    ],
    params: {
      release: r.release.dir,
      "release id": inputs.releaseId,
      source: r.source,
      "training images": images,
      victims: r.victims.join(", "),
      "victim recipe": `fast, ${r.epochs} epochs, crop+flip`,
      "victim seeds": seeds.join(", "),
      defences: plans
        .filter((p) => p.victim === main)
        .map((p) => p.defense.label)
        .join(", "),
      "validation images": r.validation_images,
      "scoring images": r.scoring_images,
      precision: r.precision,
      threads: r.threads,
      "victims trained this run": r.victims_trained,
      "victims reused from earlier runs": r.victims_reused,
      "victims' training time (s)": Math.round(r.victim_seconds),
      seconds: Math.round(r.seconds),
    },
    tables: [
      {
        title: "What a trainer gets: every defence and victim beside its clean counterpart",
        columns: [
          "defence",
          "settings",
          "victim",
          "release: stopped",
          "stopped epoch",
          "release: final",
          "clean: stopped",
          "clean: final",
          "clean − release (stopped)",
        ],
        rows: ran.map((p, i): Cell[] => [
          p.defense.label,
          p.settings,
          p.victim,
          stopped(p.release.id),
          r.rows[i]!.stopped_epochs.join(", "),
          final(p.release.id),
          stopped(p.clean.id),
          final(p.clean.id),
          points(r.rows[i]!.clean_stopped - r.rows[i]!.stopped),
        ]),
        highlight: worstIndex >= 0 ? [worstIndex] : [],
        note:
          `Accuracy on the scoring half of the clean test split, mean ± sd over ${seedWords}. Stopped: at the epoch ` +
          "of best accuracy on the validation half, what a defender who stops early gets; final: after the last " +
          "epoch. The marked row is the worst case: the highest stopped score on the release.",
      },
      ...(r.skipped.length
        ? [
            {
              title: "Skipped",
              columns: ["defence", "victim", "why"],
              rows: r.skipped.map((s): Cell[] => [s.defense, s.victim, s.reason]),
            },
          ]
        : []),
      {
        title: "What of the perturbation reaches the victim through each defence that is a function of the images",
        columns: ["defence", "pixel values changed", "mean |change| (grey levels)", "row's stopped accuracy"],
        rows: r.survival.map((s): Cell[] => {
          const row = r.rows.find((x) => x.defense === s.defense && x.victim === main);
          return [
            s.defense,
            formatPercent(s.changed, 1),
            s.mean_abs.toFixed(2),
            row ? formatPercent(row.stopped) : "—",
          ];
        }),
        note:
          "Each release image and its clean source through the defence; the difference is what a victim trained " +
          "under it can still learn from the perturbation. none: the release as it is.",
      },
      {
        title: "The release",
        columns: RELEASE_COLUMNS,
        rows: [releaseRow(manifestFacts(basename(r.release.dir), m))],
      },
      {
        title: "Every victim",
        columns: ["row", "trained on", "seed", "stopped (epoch)", "final", "train acc", "s"],
        rows: ran.flatMap((p) =>
          (["release", "clean"] as const).flatMap((on) =>
            units(p[on].id).map((u): Cell[] => [
              rowName(p),
              on,
              u.seed,
              `${formatPercent(u.stopped_test_acc ?? Number.NaN, 2)} (${u.stopped_epoch})`,
              formatPercent(u.test_acc, 2),
              formatPercent(u.train_acc, 2),
              Math.round(u.seconds),
            ]),
          ),
        ),
      },
    ],
    curves: [
      curve("release", "Victims on the release: accuracy on the scoring half per epoch (mean over seeds)"),
      curve("clean", "Their clean counterparts: accuracy on the scoring half per epoch (mean over seeds)"),
    ],
    imageGrids: [
      perturbationGrid(inputs.source, inputs.release, 3, {
        indices: m.poisoned_indices,
        title: `Clean, released and amplified perturbation: ${basename(r.release.dir)}`,
      }),
    ],
    notes: [
      `clean_acc is the early-stopped score of the plain victim (${main}, no defence) on the clean source; the ` +
        "worst case is the row whose victims score highest on the release when stopped early; protection = " +
        `clean_acc − worst case = ${formatPercent(r.clean_acc)} − ${formatPercent(r.worst_case.acc)} = ${points(r.protection)}.`,
      `No peeking: ${r.split}, so the epoch is never chosen on the images that score it.`,
      `The first victim (${main}) trains under every defence; ${
        r.victims.length > 1
          ? `${r.victims.slice(1).join(", ")} train${r.victims.length > 2 ? "" : "s"} without one (transfer)`
          : "there is no transfer victim"
      }. Each row's clean counterpart is the same victim with the same defence and seeds on the clean images the release was made from.`,
      ...r.skipped.map((s) => `${s.defense} (${s.victim}): skipped, ${s.reason}.`),
      "Every victim is recorded in results.json when it finishes; running the same command again reuses them " +
        `(this run: ${r.victims_trained} trained, ${r.victims_reused} reused).`,
    ],
    created: new Date().toISOString(),
  };
}
