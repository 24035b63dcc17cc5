// Assembling a release from crafted chunks: the source images with the poisoned ones replaced, written in
// the source's format (or as a PNG folder / .npy) with a manifest, in one atomic step. Only chunks that check
// out (see ChunkStore.load: checksum, indices, eps) are assembled; the manifest lists every file it wrote.
import { createHash } from "node:crypto";
import {
  type Dataset,
  type ImageStore,
  type OutputFormat,
  parseSpec,
  readImages,
  type Split,
  writeDataset,
} from "../data/index.js";
import { MANIFEST_FILE } from "../util/ownership.js";
import { VERSION } from "../util/version.js";
import { perturbationNorms } from "./budget.js";
import type { ChunkResult, ChunkStore } from "./chunk-store.js";
import { type CraftPlan, chunkCount, poisonedIndices, precisionOf } from "./plan.js";
import { type FileEntry, recordReleaseFiles } from "./release-files.js";

export { MANIFEST_FILE };

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
  /** What the crafting models computed in (the plan's precision, fp32 unless it says bf16). */
  precision: "fp32" | "bf16";
  /** sha256 of the statistics as written (see statisticsDigest): shows a later edit of them. */
  statistics_sha256: string;
  /** The splits written: "train", and "test" when the clean test split ships beside it. */
  splits: Split[];
  /** Every file of the release but this manifest, by "/"-separated relative path. */
  files: Record<string, FileEntry>;
  /** Formats with one file per image (folder): each image file's index in its split of the source. */
  source_index?: Record<string, number>;
}

/**
 * The digest of a manifest's statistics: its poisoned indices, per-image norms and flags, and summary. Verify
 * recomputes the norms; the crafting model's verdicts (fooled, attack_success) it can only compare with this.
 */
export function statisticsDigest(m: Pick<Manifest, "poisoned_indices" | "per_image" | "summary">): string {
  const { poisoned_indices, per_image, summary } = m;
  return createHash("sha256").update(JSON.stringify({ poisoned_indices, per_image, summary })).digest("hex");
}

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
 * Throws, writing nothing, if the stores disagree on the plan or a chunk is missing or does not check out
 * (damaged, other indices, or a pixel beyond the plan's eps: a release never breaks its own budget).
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
  const bad: string[] = [];
  for (const s of stores) for (const k of s.done({ source, warn: (m) => bad.push(m) })) owner.set(k, s);
  const missing = Array.from({ length: total }, (_, k) => k).filter((k) => !owner.has(k));
  if (missing.length) {
    throw new Error(
      `${missing.length} of ${total} chunks are not crafted yet (first: ${missing.slice(0, 5).join(", ")})` +
        (bad.length ? `; unusable: ${bad.join("; ")} (run craft again)` : ""),
    );
  }

  const size = source.height * source.width * source.channels;
  // An in-memory source's release is assembled in memory, as before; a streamed source's is a streamed
  // dataset over the chunks (ReleasedImages), which the writer reads image by image, one chunk at a time.
  const images = source.images ? new Uint8Array(source.images) : undefined;
  const fooled = new Uint8Array(source.count);
  const linf = new Float32Array(source.count);
  const l2 = new Float32Array(source.count);
  let seconds = 0;
  for (let k = 0; k < total; k++) {
    // Checked against the source by done() above: here only its checksum and indices again.
    const chunk = owner.get(k)!.load(k);
    const norms = perturbationNorms(readImages(source, chunk.indices), chunk.images, size);
    chunk.indices.forEach((i, b) => {
      images?.set(chunk.images.subarray(b * size, (b + 1) * size), i * size);
      fooled[i] = chunk.success[b]!;
      linf[i] = norms.linf[b]!;
      l2[i] = norms.l2[b]!;
    });
    seconds += chunk.seconds;
  }
  const released: Dataset = images
    ? { ...source, images }
    : { ...source, store: new ReleasedImages(source, poisoned, plan.chunkSize, (k) => owner.get(k)!.load(k)) };
  const pick = (a: ArrayLike<number>) => Array.from(poisoned, (i) => +a[i]!.toFixed(3));
  const format = o.format ?? "same";
  const manifest: Omit<Manifest, "files" | "statistics_sha256"> = {
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
    precision: precisionOf(plan),
    splits: o.test ? ["train", "test"] : ["train"],
  };
  let written: Manifest | undefined;
  writeDataset(
    out,
    { train: released, test: o.test },
    {
      format,
      force: o.force ?? false,
      kind: "release",
      extraFiles: (dir, imageFiles) => {
        const index = Object.values(imageFiles).flatMap((files) => files.map((f, i): [string, number] => [f, i]));
        written = {
          ...manifest,
          statistics_sha256: statisticsDigest(manifest),
          files: recordReleaseFiles(dir),
          ...(index.length ? { source_index: Object.fromEntries(index) } : {}),
        };
        return { [MANIFEST_FILE]: `${JSON.stringify(written)}\n` };
      },
    },
  );
  return written!;
}

/**
 * A streamed source's release, read on demand: image i is its crafted image when i is poisoned (from its
 * chunk, the last chunk read kept: the writer reads images in order, so each chunk is read once), else the
 * source's.
 */
class ReleasedImages implements ImageStore {
  readonly #position: Int32Array;
  #cached: { k: number; chunk: ChunkResult } | undefined;

  constructor(
    readonly source: Dataset,
    poisoned: Int32Array,
    readonly chunkSize: number,
    readonly loadChunk: (k: number) => ChunkResult,
  ) {
    this.#position = new Int32Array(source.count).fill(-1);
    poisoned.forEach((i, p) => {
      this.#position[i] = p;
    });
  }

  read(indices: ArrayLike<number>): Uint8Array {
    const size = this.source.height * this.source.width * this.source.channels;
    const out = new Uint8Array(indices.length * size);
    const clean: number[] = [];
    const cleanAt: number[] = [];
    for (let b = 0; b < indices.length; b++) {
      const i = indices[b]!;
      const p = this.#position[i]!;
      if (p < 0) {
        clean.push(i);
        cleanAt.push(b);
        continue;
      }
      const k = Math.floor(p / this.chunkSize);
      if (this.#cached?.k !== k) this.#cached = { k, chunk: this.loadChunk(k) };
      const at = p - k * this.chunkSize;
      out.set(this.#cached.chunk.images.subarray(at * size, (at + 1) * size), b * size);
    }
    if (clean.length) {
      const bytes = readImages(this.source, clean);
      cleanAt.forEach((b, j) => {
        out.set(bytes.subarray(j * size, (j + 1) * size), b * size);
      });
    }
    return out;
  }
}
