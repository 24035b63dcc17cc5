// Checking a release against its source: same images count and labels, every pixel within eps after
// rounding, untouched images byte-identical, and a manifest that tells the truth about all of it.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Dataset, loadSplit } from "../data/index.js";
import { levelsOf } from "./budget.js";
import { planDigest } from "./plan.js";
import { MANIFEST_FILE, type Manifest, releaseSpec } from "./release.js";

export interface Verdict {
  ok: boolean;
  problems: string[];
  checked: { images: number; poisoned: number; maxLinf: number };
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

/** Compares the release in `releaseDir` with `source`; `eps` (grey levels) is the budget it must respect. */
export function verifyRelease(source: Dataset, releaseDir: string, eps: number): Verdict {
  const manifest = readManifest(releaseDir);
  const problems: string[] = [];
  const release = loadSplit(releaseSpec(manifest.plan, manifest.release.format, releaseDir), "train");
  const levels = levelsOf(eps);
  const { height: h, width: w, channels: c } = source;
  if (release.count !== source.count) problems.push(`release has ${release.count} images, source ${source.count}`);
  if (release.height !== h || release.width !== w || release.channels !== c) {
    problems.push(`release images are ${release.height}x${release.width}x${release.channels}, source ${h}x${w}x${c}`);
  }
  if (problems.length) return { ok: false, problems, checked: { images: 0, poisoned: 0, maxLinf: Number.NaN } };

  const size = h * w * c;
  const poisoned = new Set(manifest.poisoned_indices);
  const linf = new Float32Array(source.count);
  const labelErrors: number[] = [];
  const outside: number[] = [];
  const changedUnpoisoned: number[] = [];
  for (let i = 0; i < source.count; i++) {
    if (release.labels[i] !== source.labels[i]) labelErrors.push(i);
    let m = 0;
    for (let p = i * size; p < (i + 1) * size; p++) m = Math.max(m, Math.abs(release.images[p]! - source.images[p]!));
    linf[i] = m;
    if (m > levels) outside.push(i);
    if (m > 0 && !poisoned.has(i)) changedUnpoisoned.push(i);
  }
  const list = (xs: number[]) => `${xs.slice(0, 10).join(", ")}${xs.length > 10 ? ", ..." : ""}`;
  if (labelErrors.length)
    problems.push(`${labelErrors.length} labels differ from the source (images ${list(labelErrors)})`);
  if (outside.length) {
    const worst = outside.reduce((m, i) => Math.max(m, linf[i]!), 0);
    problems.push(
      `${outside.length} images exceed eps ${eps} (${levels} grey levels; worst ${worst}): ${list(outside)}`,
    );
  }
  if (changedUnpoisoned.length) {
    problems.push(
      `${changedUnpoisoned.length} images changed that the manifest lists as clean: ${list(changedUnpoisoned)}`,
    );
  }
  if (manifest.plan.eps > eps) problems.push(`manifest says eps ${manifest.plan.eps}, more than the ${eps} asked for`);
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
  return { ok: problems.length === 0, problems, checked: { images: source.count, poisoned: poisoned.size, maxLinf } };
}
