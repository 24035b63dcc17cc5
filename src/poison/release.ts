// Assembling a release from crafted chunks: the source images with the poisoned ones replaced, written in
// the source's format (or as a PNG folder / .npy) with a manifest, in one atomic step.
import { type Dataset, type OutputFormat, parseSpec, writeDataset } from "../data/index.js";
import { VERSION } from "../util/version.js";
import { perturbationNorms } from "./budget.js";
import type { ChunkStore } from "./chunk-store.js";
import { type CraftPlan, chunkCount, poisonedIndices } from "./plan.js";

export interface Manifest {
  tool: "advpoison";
  version: string;
  created: string;
  plan: CraftPlan;
  plan_digest: string;
  release: { format: OutputFormat; spec: string };
  poisoned_indices: number[];
  /** Aligned with poisoned_indices; norms in grey levels. */
  per_image: { linf: number[]; l2: number[]; fooled: number[] };
  summary: {
    count: number;
    poisoned: number;
    max_linf: number;
    mean_l2: number;
    attack_success: number;
  };
  /** Crafting time summed over chunks (shards run in parallel take less wall time). */
  crafting_seconds: number;
}

export const MANIFEST_FILE = "manifest.json";

/** How to load a release written to `dir` in `format`. */
export function releaseSpec(plan: CraftPlan, format: OutputFormat, dir: string): string {
  if (format === "same") return `${parseSpec(plan.dataset.spec).name}:${dir}`;
  return `${format}:${dir}`;
}

export interface ReleaseOptions {
  format?: OutputFormat;
  force?: boolean;
  /** The clean test split, shipped beside the release so that it loads as a whole dataset. */
  test?: Dataset;
}

/**
 * Builds and writes the release from all chunks in `stores` (one unsharded run, or the shards of one plan).
 * Throws, writing nothing, if the stores disagree on the plan or a chunk is missing.
 */
export function writeRelease(
  source: Dataset,
  stores: readonly ChunkStore[],
  out: string,
  o: ReleaseOptions = {},
): Manifest {
  const first = stores[0];
  if (!first) throw new Error("no crafting work directories given");
  for (const s of stores) {
    if (s.digest !== first.digest)
      throw new Error(`${s.dir} was crafted under plan ${s.digest}, ${first.dir} under ${first.digest}`);
  }
  const plan = first.plan;
  if (source.count !== plan.dataset.count) {
    throw new Error(`the source has ${source.count} images but the plan was made for ${plan.dataset.count}`);
  }
  const poisoned = poisonedIndices(source.count, plan.budget, plan.seed);
  const total = chunkCount(poisoned.length, plan.chunkSize);
  const owner = new Map<number, ChunkStore>();
  for (const s of stores) for (const k of s.done()) owner.set(k, s);
  const missing = Array.from({ length: total }, (_, k) => k).filter((k) => !owner.has(k));
  if (missing.length) {
    throw new Error(
      `${missing.length} of ${total} chunks are not crafted yet (first: ${missing.slice(0, 5).join(", ")})`,
    );
  }

  const size = source.height * source.width * source.channels;
  const images = new Uint8Array(source.images);
  const fooled = new Uint8Array(source.count);
  let seconds = 0;
  for (let k = 0; k < total; k++) {
    const chunk = owner.get(k)!.load(k);
    chunk.indices.forEach((i, b) => {
      images.set(chunk.images.subarray(b * size, (b + 1) * size), i * size);
      fooled[i] = chunk.success[b]!;
    });
    seconds += chunk.seconds;
  }
  const released: Dataset = { ...source, images };
  const { linf, l2 } = perturbationNorms(source.images, images, size);
  const pick = (a: ArrayLike<number>) => Array.from(poisoned, (i) => +a[i]!.toFixed(3));
  const format = o.format ?? "same";
  const manifest: Manifest = {
    tool: "advpoison",
    version: VERSION,
    created: new Date().toISOString(),
    plan,
    plan_digest: first.digest,
    release: { format, spec: releaseSpec(plan, format, out) },
    poisoned_indices: Array.from(poisoned),
    per_image: { linf: pick(linf), l2: pick(l2), fooled: pick(fooled) },
    summary: {
      count: source.count,
      poisoned: poisoned.length,
      max_linf: poisoned.reduce((m, i) => Math.max(m, linf[i]!), 0),
      mean_l2: poisoned.length ? poisoned.reduce((s, i) => s + l2[i]!, 0) / poisoned.length : 0,
      attack_success: poisoned.length ? poisoned.reduce((s, i) => s + fooled[i]!, 0) / poisoned.length : 0,
    },
    crafting_seconds: seconds,
  };
  writeDataset(
    out,
    { train: released, ...(o.test ? { test: o.test } : {}) },
    {
      format,
      force: o.force ?? false,
      extraFiles: { [MANIFEST_FILE]: `${JSON.stringify(manifest)}\n` },
    },
  );
  return manifest;
}
