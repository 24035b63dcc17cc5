// Checking a release against its source: same images count and labels, every image within its method's budget
// after rounding (L-inf eps; or the L2 ball of eps; or one pixel for an L0 method), untouched images
// byte-identical, and a manifest that tells the truth about all of it.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Dataset, loadSplit } from "../data/index.js";
import { type BudgetNorm, changedPixels, l2Radius, levelsOf } from "./budget.js";
import { budgetOf, methodOf } from "./methods/index.js";
import { planDigest } from "./plan.js";
import { MANIFEST_FILE, type Manifest, releaseSpec } from "./release.js";

export interface Verdict {
  ok: boolean;
  problems: string[];
  checked: { images: number; poisoned: number; maxLinf: number; budget: string };
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

export function readManifest(releaseDir: string): Manifest {
  const path = join(releaseDir, MANIFEST_FILE);
  if (!existsSync(path)) throw new Error(`${releaseDir}: no ${MANIFEST_FILE}; not an advpoison release`);
  try {
    return JSON.parse(readFileSync(path, "utf-8")) as Manifest;
  } catch (e) {
    throw new Error(`${path}: unreadable manifest (${(e as Error).message})`);
  }
}

/**
 * Compares the release in `releaseDir` with `source`; `eps` (grey levels) is the budget it must respect, in the
 * norm of the manifest's method (an L0 method's one pixel per image ignores it).
 */
export function verifyRelease(source: Dataset, releaseDir: string, eps: number): Verdict {
  const manifest = readManifest(releaseDir);
  const problems: string[] = [];
  const release = loadSplit(releaseSpec(manifest.plan, manifest.release.format, releaseDir), "train");
  const norm = budgetOf(methodOf(manifest.plan.recipe), manifest.plan.extra);
  const { height: h, width: w, channels: c } = source;
  if (release.count !== source.count) problems.push(`release has ${release.count} images, source ${source.count}`);
  if (release.height !== h || release.width !== w || release.channels !== c) {
    problems.push(`release images are ${release.height}x${release.width}x${release.channels}, source ${h}x${w}x${c}`);
  }
  const size = h * w * c;
  const budget = budgetCheck(norm, eps, size);
  if (problems.length)
    return { ok: false, problems, checked: { images: 0, poisoned: 0, maxLinf: Number.NaN, budget: budget.text } };

  const poisoned = new Set(manifest.poisoned_indices);
  const linf = new Float32Array(source.count);
  const pixels = norm === "l0" ? changedPixels(source.images, release.images, h * w, c) : null;
  const labelErrors: number[] = [];
  const outside: number[] = [];
  const changedUnpoisoned: number[] = [];
  for (let i = 0; i < source.count; i++) {
    if (release.labels[i] !== source.labels[i]) labelErrors.push(i);
    let m = 0;
    let l2 = 0;
    for (let p = i * size; p < (i + 1) * size; p++) {
      const d = Math.abs(release.images[p]! - source.images[p]!);
      m = Math.max(m, d);
      l2 += d * d;
    }
    linf[i] = m;
    const measure = norm === "linf" ? m : norm === "l2" ? Math.sqrt(l2) : pixels![i]!;
    if (measure > budget.bound) outside.push(i);
    if (m > 0 && !poisoned.has(i)) changedUnpoisoned.push(i);
  }
  const list = (xs: number[]) => `${xs.slice(0, 10).join(", ")}${xs.length > 10 ? ", ..." : ""}`;
  if (labelErrors.length)
    problems.push(`${labelErrors.length} labels differ from the source (images ${list(labelErrors)})`);
  if (outside.length) problems.push(`${outside.length} images exceed ${budget.text}: ${list(outside)}`);
  if (changedUnpoisoned.length) {
    problems.push(
      `${changedUnpoisoned.length} images changed that the manifest lists as clean: ${list(changedUnpoisoned)}`,
    );
  }
  if (norm !== "l0" && manifest.plan.eps > eps)
    problems.push(`manifest says eps ${manifest.plan.eps}, more than the ${eps} asked for`);
  if (manifest.plan_digest !== planDigest(manifest.plan)) problems.push("manifest plan digest does not match its plan");
  if (manifest.summary.count !== source.count)
    problems.push(`manifest counts ${manifest.summary.count} images, source has ${source.count}`);
  const claimed = manifest.per_image.linf;
  const wrongNorms = manifest.poisoned_indices.filter((i, k) => Math.abs((claimed[k] ?? Number.NaN) - linf[i]!) > 1e-3);
  if (wrongNorms.length) problems.push(`manifest L-inf is wrong for ${wrongNorms.length} images: ${list(wrongNorms)}`);
  const maxLinf = linf.reduce((m, v) => Math.max(m, v), 0);
  if (Math.abs(manifest.summary.max_linf - maxLinf) > 1e-3) {
    problems.push(`manifest max L-inf ${manifest.summary.max_linf}, measured ${maxLinf}`);
  }
  return {
    ok: problems.length === 0,
    problems,
    checked: { images: source.count, poisoned: poisoned.size, maxLinf, budget: budget.text },
  };
}
