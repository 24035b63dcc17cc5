// Checking a release against its source, whole (a streamed source and release are compared block by block):
// - files: every file the manifest lists is there with its size and sha256, and nothing else is (no extra
//   script, no second copy of a split that a reader might take instead);
// - the training split: image count and shape, labels equal to the source's, every image within its method's
//   budget after rounding (L-inf eps; or the L2 ball of eps; or one pixel for an L0 method), images the manifest calls clean byte-identical, the poisoned indices those of the plan;
// - the test split (when the release ships one): identical to the source's test split, images and labels;
// - the manifest's statistics, recomputed from the images: per-image L-inf and L2, max L-inf, mean L2; and
//   the plan's digest and eps.
// Not recomputable without the crafting model(s): whether each image fooled them (`fooled`) and so
// `attack_success`. Those are checked for consistency only (one 0/1 flag per poisoned image, attack_success
// their mean), and the manifest's statistics_sha256 (written with them) shows whether they were edited since.
// The manifest is not signed: whoever rewrites it whole can rewrite its hashes too; verify shows that a
// release is what its manifest says and that it respects the budget against the source, not who wrote it.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { type Dataset, imageSizeOf, readRange, STREAM_BLOCK } from "../data/index.js";
import { type BudgetNorm, changedPixels, l2Radius, levelsOf, perturbationNorms } from "./budget.js";
import { budgetOf, methodOf } from "./methods/index.js";
import { planDigest, planMethod, poisonedIndices } from "./plan.js";
import { MANIFEST_FILE, type Manifest, statisticsDigest } from "./release.js";
import { fileProblems } from "./release-files.js";
import { loadReleaseSplit } from "./release-read.js";

/** What `verify` says of a release (or, with protect's `Checked`, of a protected photo tree): ok, or why not. */
export interface Verdict<Checked = ReleaseChecked> {
  ok: boolean;
  problems: string[];
  checked: Checked;
}

/** What a release's verification looked at. */
export interface ReleaseChecked {
  files: number;
  images: number;
  poisoned: number;
  maxLinf: number;
  budget: string;
}

/** Each image's measure under `norm` and the bound it must keep, for `eps` (grey levels) and images of `size` values. */
function budgetCheck(norm: BudgetNorm, eps: number, size: number): { bound: number; text: string } {
  switch (norm) {
    case "linf":
      return { bound: levelsOf(eps), text: `eps ${eps} (L-inf <= ${levelsOf(eps)} grey levels)` };
    case "l2": {
      // Rounding to integers moves each value by at most 0.5 grey levels beyond the real-valued ball.
      const bound = l2Radius(eps + 0.5, size);
      return {
        bound,
        text: `eps ${eps} in L2 (<= ${bound.toFixed(2)} grey levels: (eps + 0.5 rounding) sqrt(${size}))`,
      };
    }
    case "l0":
      return { bound: 1, text: "L0 of 1 pixel (an L0 method: eps does not apply)" };
  }
}

export interface VerifyOptions {
  /** The source's test split, compared with the release's (when it ships one). */
  test?: Dataset;
}

/** What every reader of a manifest relies on, checked before any field is used (the rest is verify's to judge). */
const MANIFEST_SHAPE = z.looseObject({
  tool: z.literal("advpoison"),
  plan: z.looseObject({
    recipe: z.string(),
    eps: z.number(),
    dataset: z.looseObject({ spec: z.string(), count: z.number() }),
  }),
  plan_digest: z.string(),
  poisoned_indices: z.array(z.number().int().nonnegative()),
  summary: z.looseObject({ count: z.number(), poisoned: z.number() }),
  release: z.looseObject({ format: z.string(), spec: z.string() }),
});

export function readManifest(releaseDir: string): Manifest {
  const path = join(releaseDir, MANIFEST_FILE);
  if (!existsSync(path)) throw new Error(`${releaseDir}: no ${MANIFEST_FILE}; not an advpoison release`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf-8"));
  } catch (e) {
    throw new Error(`${path}: unreadable manifest (${(e as Error).message})`);
  }
  const r = MANIFEST_SHAPE.safeParse(parsed);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const where = issue.path.length ? issue.path.join(".") : "the top level";
    throw new Error(`${path}: not an advpoison release manifest (${where}: ${issue.message})`);
  }
  return parsed as Manifest;
}

const list = (xs: readonly number[]) => `${xs.slice(0, 10).join(", ")}${xs.length > 10 ? ", ..." : ""}`;

/**
 * Compares the release in `releaseDir` with `source`; `eps` (grey levels) is the budget it must respect, in the
 * norm of the manifest's method (an L0 method's one pixel per image ignores it).
 */
export function verifyRelease(source: Dataset, releaseDir: string, eps: number, o: VerifyOptions = {}): Verdict {
  const manifest = readManifest(releaseDir);
  const norm = budgetOf(methodOf(planMethod(manifest.plan)), manifest.plan.extra);
  const { height: h, width: w, channels: c } = source;
  const size = h * w * c;
  const budget = budgetCheck(norm, eps, size);
  const problems: string[] = [];
  const files = manifest.files ? Object.keys(manifest.files).length : 0;
  if (manifest.files) problems.push(...fileProblems(manifest.files, releaseDir));
  else problems.push("the manifest lists no files (an older advpoison wrote it): the release cannot be checked whole");
  problems.push(...manifestProblems(manifest, source, norm === "l0" ? Number.POSITIVE_INFINITY : eps));

  const failed = (what: string) => ({
    ok: false,
    problems: [...problems, what],
    checked: { files, images: 0, poisoned: 0, maxLinf: Number.NaN, budget: budget.text },
  });
  let release: Dataset;
  try {
    release = loadReleaseSplit(manifest, releaseDir, "train");
  } catch (e) {
    return failed(`the training split does not load: ${(e as Error).message}`);
  }
  if (release.count !== source.count) return failed(`release has ${release.count} images, source ${source.count}`);
  if (release.height !== h || release.width !== w || release.channels !== c)
    return failed(`release images are ${release.height}x${release.width}x${release.channels}, source ${h}x${w}x${c}`);

  const poisoned = new Set(manifest.poisoned_indices);
  const { linf, l2, changed } = compareImages(source, release, norm === "l0");
  const measure = norm === "linf" ? linf : norm === "l2" ? l2 : changed;
  const labelErrors: number[] = [];
  const outside: number[] = [];
  const changedUnpoisoned: number[] = [];
  for (let i = 0; i < source.count; i++) {
    if (release.labels[i] !== source.labels[i]) labelErrors.push(i);
    if (measure[i]! > budget.bound) outside.push(i);
    if (linf[i]! > 0 && !poisoned.has(i)) changedUnpoisoned.push(i);
  }
  if (labelErrors.length)
    problems.push(`${labelErrors.length} labels differ from the source (images ${list(labelErrors)})`);
  if (outside.length) {
    const worst = outside.reduce((m, i) => Math.max(m, linf[i]!), 0);
    problems.push(`${outside.length} images exceed ${budget.text} (worst L-inf ${worst}): ${list(outside)}`);
  }
  if (changedUnpoisoned.length) {
    problems.push(
      `${changedUnpoisoned.length} images changed that the manifest lists as clean: ${list(changedUnpoisoned)}`,
    );
  }
  problems.push(...statisticProblems(manifest, linf, l2));
  if (manifest.splits?.includes("test") && o.test) problems.push(...testSplitProblems(manifest, releaseDir, o.test));
  const maxLinf = linf.reduce((m, v) => Math.max(m, v), 0);
  return {
    ok: problems.length === 0,
    problems,
    checked: { files, images: source.count, poisoned: poisoned.size, maxLinf, budget: budget.text },
  };
}

/**
 * Per image of `a` and `b` (same count and shape): L-inf and L2 of their difference and, if asked, how many
 * pixels differ. In memory in one pass; a streamed dataset block by block, so only a block is held.
 */
function compareImages(a: Dataset, b: Dataset, pixels: boolean) {
  const linf = new Float32Array(a.count);
  const l2 = new Float32Array(a.count);
  const changed = new Int32Array(pixels ? a.count : 0);
  const size = imageSizeOf(a);
  const block = a.images && b.images ? Math.max(1, a.count) : STREAM_BLOCK;
  for (let start = 0; start < a.count; start += block) {
    const end = Math.min(a.count, start + block);
    const x = readRange(a, start, end);
    const y = readRange(b, start, end);
    const norms = perturbationNorms(x, y, size);
    linf.set(norms.linf, start);
    l2.set(norms.l2, start);
    if (pixels) changed.set(changedPixels(x, y, a.height * a.width, a.channels), start);
  }
  return { linf, l2, changed };
}

/** The plan and the poisoned set: what the manifest says it was made under (`eps`: the largest plan eps allowed). */
function manifestProblems(manifest: Manifest, source: Dataset, eps: number): string[] {
  const problems: string[] = [];
  if (manifest.plan.eps > eps) problems.push(`manifest says eps ${manifest.plan.eps}, more than the ${eps} asked for`);
  if (manifest.plan_digest !== planDigest(manifest.plan)) problems.push("manifest plan digest does not match its plan");
  if (manifest.summary.count !== source.count)
    problems.push(`manifest counts ${manifest.summary.count} images, source has ${source.count}`);
  const expected = poisonedIndices(source.count, manifest.plan.budget, manifest.plan.seed);
  const claimed = manifest.poisoned_indices;
  if (claimed.length !== expected.length || claimed.some((i, k) => i !== expected[k]))
    problems.push(
      `manifest's poisoned_indices are not the plan's (budget ${manifest.plan.budget}, seed ${manifest.plan.seed})`,
    );
  if (manifest.summary.poisoned !== claimed.length)
    problems.push(`manifest summary says ${manifest.summary.poisoned} poisoned, it lists ${claimed.length}`);
  return problems;
}

/** The manifest's statistics against those recomputed from the images (`linf`, `l2` per source image). */
function statisticProblems(manifest: Manifest, linf: Float32Array, l2: Float32Array): string[] {
  const problems: string[] = [];
  const indices = manifest.poisoned_indices;
  const { per_image: per, summary } = manifest;
  // Stored rounded to 3 decimals: within 1e-3 is the same value.
  const wrong = (claimed: readonly number[], actual: Float32Array) =>
    indices.filter((i, k) => !(Math.abs((claimed[k] ?? Number.NaN) - actual[i]!) <= 1e-3));
  for (const [name, claimed, actual] of [
    ["L-inf", per.linf, linf],
    ["L2", per.l2, l2],
  ] as const) {
    const bad = wrong(claimed, actual);
    if (claimed.length !== indices.length || bad.length)
      problems.push(`manifest ${name} is wrong for ${bad.length} of ${indices.length} images: ${list(bad)}`);
  }
  const maxLinf = indices.reduce((m, i) => Math.max(m, linf[i]!), 0);
  if (!(Math.abs(summary.max_linf - maxLinf) <= 1e-3))
    problems.push(`manifest max L-inf ${summary.max_linf}, measured ${maxLinf}`);
  const meanL2 = indices.length ? indices.reduce((s, i) => s + l2[i]!, 0) / indices.length : 0;
  if (!(Math.abs(summary.mean_l2 - meanL2) <= 1e-6 * Math.max(1, meanL2)))
    problems.push(`manifest mean L2 ${summary.mean_l2}, measured ${meanL2}`);
  // fooled / attack_success: the crafting model's verdict, not recomputable here (see the file's comment).
  const fooled = per.fooled;
  if (fooled.length !== indices.length || fooled.some((f) => f !== 0 && f !== 1))
    problems.push(`manifest fooled must hold one 0/1 flag per poisoned image (${indices.length})`);
  const success = indices.length ? fooled.reduce((s, f) => s + f, 0) / indices.length : 0;
  if (!(Math.abs(summary.attack_success - success) <= 1e-9))
    problems.push(`manifest attack_success ${summary.attack_success}, but its fooled flags give ${success}`);
  if (manifest.statistics_sha256 !== statisticsDigest(manifest))
    problems.push(
      "manifest statistics (poisoned_indices, per_image, summary) were edited after the release was written",
    );
  return problems;
}

/** The release's test split against the source's: it is shipped clean, so it must be identical. */
function testSplitProblems(manifest: Manifest, releaseDir: string, source: Dataset): string[] {
  let release: Dataset;
  try {
    release = loadReleaseSplit(manifest, releaseDir, "test");
  } catch (e) {
    return [`the test split does not load: ${(e as Error).message}`];
  }
  if (release.count !== source.count) return [`test split has ${release.count} images, the source's ${source.count}`];
  const size = source.height * source.width * source.channels;
  if (imageSizeOf(release) !== size) return ["test images differ in shape from the source's"];
  const images: number[] = [];
  const labels: number[] = [];
  for (let start = 0; start < source.count; start += STREAM_BLOCK) {
    const end = Math.min(source.count, start + STREAM_BLOCK);
    const x = readRange(release, start, end);
    const y = readRange(source, start, end);
    for (let i = start; i < end; i++) {
      const k = i - start;
      if (Buffer.compare(x.subarray(k * size, (k + 1) * size), y.subarray(k * size, (k + 1) * size)) !== 0)
        images.push(i);
      if (release.labels[i] !== source.labels[i]) labels.push(i);
    }
  }
  const problems: string[] = [];
  if (images.length) problems.push(`${images.length} test images differ from the source's: ${list(images)}`);
  if (labels.length) problems.push(`${labels.length} test labels differ from the source's: ${list(labels)}`);
  return problems;
}
