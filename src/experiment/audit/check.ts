// The audit's inputs, checked before anything is trained or written: the release is one (a manifest that
// `advpoison verify` accepts against the source, within the release's own budget) and the source is the one it
// was made from (the same dataset, count and image shape), so that the clean counterpart of every victim trains
// on exactly the images the release perturbed.
import { type Dataset, loadDataset, parseSpec, subset } from "../../data/index.js";
import { loadReleaseSplit, type Manifest, planMethod, readManifest, verifyRelease } from "../../poison/index.js";
import { digestOf } from "../store.js";

export interface AuditInputs {
  manifest: Manifest;
  /** Identifies the release by its files' hashes (part of its victims' keys). */
  releaseId: string;
  /** The release's training split, in the source's order. */
  release: Dataset;
  /** The source's training images the release was made from (its first `subset`), and its whole test split. */
  source: Dataset;
  test: Dataset;
  /** The subset the source was cut to (the manifest's unless given); null: all of it. */
  subset: number | null;
}

export interface AuditSource {
  releaseDir: string;
  /** A dataset spec (fashion-mnist, cifar10:DIR, ...). */
  source: string;
  dataDir?: string | null;
  /** The first n training images; default the subset the release was crafted on. */
  subset?: number | null;
}

/** Loads and checks the release and its source; throws one line naming the first thing that does not fit. */
export function openAuditInputs(o: AuditSource): AuditInputs {
  const manifest = readManifest(o.releaseDir);
  const plan = manifest.plan;
  const missing = [
    ["plan", plan?.dataset],
    ["summary", manifest.summary],
    ["release", manifest.release],
    ["poisoned_indices", manifest.poisoned_indices],
    ["per_image", manifest.per_image],
  ].find(([, v]) => v === undefined || v === null);
  if (missing) throw new Error(`${o.releaseDir}: the manifest has no ${missing[0]}; not an advpoison release`);
  const madeFrom = parseSpec(plan.dataset.spec).name;
  const given = parseSpec(o.source).name;
  if (madeFrom !== given) throw new Error(`the release was made from ${madeFrom}, not ${given} (--source)`);
  const first = o.subset === undefined ? plan.dataset.subset : o.subset;
  const { train, test } = loadDataset(o.source, o.dataDir ? { dataDir: o.dataDir } : {});
  const source = first !== null && first < train.count ? subset(train, first) : train;
  const cut = first === null ? "" : ` (its first ${first})`;
  if (source.count !== manifest.summary.count)
    throw new Error(
      `the release has ${manifest.summary.count} training images, the source${cut} ${source.count}: ` +
        `pass the --subset it was crafted with (${plan.dataset.subset ?? "all"})`,
    );
  const shape = [source.height, source.width, source.channels];
  if (shape.join("x") !== plan.dataset.shape.join("x"))
    throw new Error(`the release's images are ${plan.dataset.shape.join("x")}, the source's ${shape.join("x")}`);
  const verdict = verifyRelease(source, o.releaseDir, plan.eps, { test });
  if (!verdict.ok) {
    const more = verdict.problems.length > 1 ? ` (and ${verdict.problems.length - 1} more problems)` : "";
    throw new Error(
      `${o.releaseDir} fails verify against ${o.source}${cut} at its eps ${plan.eps}: ${verdict.problems[0]}${more}`,
    );
  }
  return {
    manifest,
    releaseId: `${planMethod(plan)}-eps${plan.eps}-${digestOf(manifest.files)}`,
    release: loadReleaseSplit(manifest, o.releaseDir, "train"),
    source,
    test,
    subset: first,
  };
}
