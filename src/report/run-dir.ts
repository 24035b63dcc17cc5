// The report of a run directory built by hand or by a script (e.g. scripts/experiments/*.sh): every release
// (a directory with manifest.json) and every trained model (a directory with run.json) in it or one level
// below, victims matched to the releases they trained on, the releases' images next to their sources.
import { existsSync, readdirSync, realpathSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { type Dataset, loadSplit, parseSpec, subset } from "../data/index.js";
import { loadReleaseSplit, MANIFEST_FILE, type Manifest, planMethod, readManifest } from "../poison/index.js";
import { RUN_FILE, readRunRecord, type TrainRunRecord } from "../train/index.js";
import { outputKind } from "../util/ownership.js";
import { VERSION } from "../util/version.js";
import { formatMeanSd, formatPeak, formatPercent, meanSd } from "./format.js";
import { perturbationGrid } from "./grid.js";
import { historySeries } from "./history.js";
import { manifestFacts, RELEASE_COLUMNS, releaseRow } from "./release-table.js";
import type { HeadlineStat, ReportData } from "./types.js";

export interface FoundRelease {
  name: string;
  dir: string;
  manifest: Manifest;
}

export interface FoundRun {
  name: string;
  dir: string;
  record: TrainRunRecord;
  /** The release it trained on (by directory), if that release is in the run directory. */
  release?: string;
}

/** A manifest.json or run.json that could not be read or lacks what the report needs, and why. */
export interface Unreadable {
  path: string;
  reason: string;
}

export interface RunDirContents {
  releases: FoundRelease[];
  runs: FoundRun[];
  /** Skipped, not fatal: the report goes on with the rest and lists these. */
  unreadable: Unreadable[];
}

/** The directory a dataset spec names, if it names one and parses. */
function specPath(spec: string): string | undefined {
  try {
    return parseSpec(spec).path;
  } catch {
    return undefined;
  }
}

const canonical = (p: string): string => (existsSync(p) ? realpathSync(p) : resolve(p));

/**
 * The releases and trained runs in `dir` and its immediate subdirectories, in name order. A manifest or run
 * record that cannot be read is listed in `unreadable` instead of stopping the scan.
 */
export function scanRunDir(dir: string): RunDirContents {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`${dir}: no such directory`);
  const candidates = [
    dir,
    ...readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => join(dir, e.name))
      .sort(),
  ];
  const nameOf = (d: string) => (d === dir ? basename(resolve(dir)) : basename(d));
  const unreadable: Unreadable[] = [];
  const tryRead = <T>(path: string, read: () => T): T[] => {
    try {
      return [read()];
    } catch (e) {
      unreadable.push({ path, reason: (e as Error).message });
      return [];
    }
  };
  const releases = candidates
    .filter((d) => existsSync(join(d, MANIFEST_FILE)))
    .flatMap((d) => tryRead(join(d, MANIFEST_FILE), () => ({ name: nameOf(d), dir: d, manifest: readManifest(d) })));
  const byDir = new Map(releases.map((r) => [canonical(r.dir), r.name]));
  // A run.json of another of advpoison's outputs (a queue run's record) is no trained model; one without a
  // marker is, as runs written before markers existed are.
  const runs = candidates
    .filter((d) => existsSync(join(d, RUN_FILE)) && (outputKind(d) ?? "training run") === "training run")
    .flatMap((d) =>
      tryRead(join(d, RUN_FILE), (): FoundRun => {
        const record = readRunRecord(d);
        const path = specPath(record.dataset);
        const release = path === undefined ? undefined : byDir.get(canonical(path));
        return { name: nameOf(d), dir: d, record, release };
      }),
    );
  return { releases, runs, unreadable };
}

export interface RunDirReportOptions {
  /** Grid examples per class and release. */
  perClass?: number;
}

/** The report data of a scanned run directory; loads each release and its source to draw the image grids. */
export function runDirReport(dir: string, found: RunDirContents, o: RunDirReportOptions = {}): ReportData {
  const { releases, runs, unreadable } = found;
  if (releases.length === 0 && runs.length === 0) {
    const skipped = unreadable.map((u) => `; skipped ${u.reason}`).join("");
    throw new Error(
      `${dir}: nothing to report: no readable release (${MANIFEST_FILE}) or trained model (${RUN_FILE}) in it or its subdirectories${skipped}`,
    );
  }
  const victimsOf = (release: string) => runs.filter((r) => r.release === release);
  const accOf = (rs: FoundRun[]) => meanSd(rs.map((r) => r.record.test_acc));
  const peakOf = (rs: FoundRun[]) => meanSd(rs.map((r) => r.record.peak_test_acc));
  const clean = runs.filter((r) => r.release === undefined);
  const poisoned = runs.filter((r) => r.release !== undefined);

  const headline: HeadlineStat[] = [];
  if (clean.length > 0) {
    headline.push({
      label: "trained on clean data",
      value: formatPercent(accOf(clean).mean),
      tone: "good",
      detail:
        `final clean test accuracy${clean.length > 1 ? `, mean of ${clean.length}` : ""}; ` +
        `peak ${formatPercent(peakOf(clean).mean)} (best epoch)`,
    });
  }
  const worst = poisoned.reduce<FoundRun | undefined>(
    (w, r) => (w === undefined || r.record.test_acc < w.record.test_acc ? r : w),
    undefined,
  );
  if (worst) {
    headline.push({
      label: `lowest: trained on ${worst.release}`,
      value: formatPercent(worst.record.test_acc),
      tone: "bad",
      detail: `final clean test accuracy; peak ${formatPeak(worst.record.peak_test_acc, worst.record.peak_epoch)}`,
    });
  }

  const sources = new Map<string, Dataset>();
  const sourceOf = (m: Manifest): Dataset => {
    const d = m.plan.dataset;
    const key = JSON.stringify([d.spec, d.dataDir, d.subset]);
    let ds = sources.get(key);
    if (!ds) {
      ds = loadSplit(d.spec, "train", d.dataDir ? { dataDir: d.dataDir } : {});
      if (d.subset !== null) ds = subset(ds, d.subset);
      sources.set(key, ds);
    }
    return ds;
  };

  // A release whose images or source cannot be loaded (moved, truncated) loses its pictures, not the report.
  const gridless: string[] = [];
  const grids = releases.flatMap(({ name, dir: releaseDir, manifest: m }) => {
    try {
      const release = loadReleaseSplit(m, releaseDir, "train");
      return [
        perturbationGrid(sourceOf(m), release, o.perClass ?? 2, {
          indices: m.poisoned_indices,
          title: `${name}: clean, poisoned and amplified perturbation (${planMethod(m.plan)}, eps ${m.plan.eps}/255)`,
        }),
      ];
    } catch (e) {
      gridless.push(`No images of ${name}: ${(e as Error).message}`);
      return [];
    }
  });

  return {
    title: `advpoison run: ${basename(resolve(dir))}`,
    generator: "run-dir",
    subtitle:
      `${releases.length} release${releases.length === 1 ? "" : "s"} and ${runs.length} trained ` +
      `model${runs.length === 1 ? "" : "s"} found in ${dir}; accuracies are on each dataset's clean test split.`,
    headline,
    params: { directory: resolve(dir), releases: releases.length, "trained models": runs.length, tool: VERSION },
    tables: [
      ...(releases.length
        ? [
            {
              title: "Releases",
              columns: [...RELEASE_COLUMNS, "victim test accuracy (final)", "victim peak test accuracy"],
              rows: releases.map(({ name, manifest: m }) => {
                const victims = victimsOf(name);
                return [
                  ...releaseRow(manifestFacts(name, m)),
                  victims.length === 0
                    ? null
                    : formatMeanSd(
                        victims.map((r) => r.record.test_acc),
                        2,
                      ),
                  victims.length === 0
                    ? null
                    : formatMeanSd(
                        victims.map((r) => r.record.peak_test_acc),
                        2,
                      ),
                ];
              }),
              note:
                "Norms in grey levels (0..255). Victims are the trained models whose dataset is the release; final " +
                "is their last epoch's clean test accuracy, peak their best epoch's.",
            },
          ]
        : []),
      ...(runs.length
        ? [
            {
              title: "Trained models",
              columns: [
                "run",
                "model",
                "trained on",
                "epochs",
                "test accuracy (final)",
                "peak test accuracy",
                "seconds",
              ],
              rows: runs.map((r) => [
                r.name,
                r.record.model,
                r.release ?? r.record.dataset,
                r.record.history.length,
                formatPercent(r.record.test_acc, 2),
                formatPeak(r.record.peak_test_acc, r.record.peak_epoch, 2),
                Math.round(r.record.seconds),
              ]),
            },
          ]
        : []),
    ],
    curves: runs.some((r) => r.record.history.some((e) => e.testAcc !== undefined))
      ? [
          {
            title: "Test accuracy over training",
            xLabel: "epoch",
            yLabel: "clean test accuracy",
            yFormat: "percent",
            series: runs.map((r) => historySeries(r.name, r.record.history)),
          },
        ]
      : [],
    imageGrids: grids,
    manifest: Object.fromEntries(
      releases.map(({ name, manifest: m }) => [
        name,
        { plan: m.plan, summary: m.summary, crafting_seconds: m.crafting_seconds },
      ]),
    ),
    notes: [
      ...unreadable.map((u) => `Skipped: ${u.reason}`),
      ...gridless,
      "Each release's images are shown beside the source images they came from; the perturbation is amplified " +
        "by one factor per release so that it spans the grey range (mid-grey: no change).",
    ],
    created: new Date().toISOString(),
  };
}
