// Crafting the chunks of a chunked method: each chunk's poisons depend only on the plan and the chunk number
// (its seed is chunkSeed(plan.seed, k)), so runs that resume, or that split the work into shards or queue
// jobs, produce the same bytes.
import { buildBatch, type Dataset, readImages } from "../data/index.js";
import type { Module } from "../nn/index.js";
import { manualSeed, type Tensor } from "../torch/index.js";
import { silentProgress } from "../train/index.js";
import { yieldToEventLoop } from "../util/event-loop.js";
import { pixelUnits, quantize, toGreyLevelsNHWC, valueBound } from "./budget.js";
import type { ChunkResult, ChunkStore } from "./chunk-store.js";
import type { CraftRunOptions, CraftRunStats } from "./craft-run.js";
import { type ChunkedMethod, methodOf, methodSettings } from "./methods/index.js";
import {
  type CraftPlan,
  chunkCount,
  chunkSeed,
  chunksOfShard,
  planMethod,
  poisonedIndices,
  sharedSeed,
} from "./plan.js";

function craftChunk(
  method: ChunkedMethod,
  settings: Record<string, unknown>,
  ds: Dataset,
  plan: CraftPlan,
  models: readonly Module[],
  indices: Int32Array,
  device: string,
  shared: Tensor | undefined,
): ChunkResult {
  const t0 = performance.now();
  // The chunk's source images, read once (a streamed dataset's files decoded once): the batch is built from
  // them, and the released images are them plus the quantised perturbation.
  const source = readImages(ds, indices);
  const batch = buildBatch(chunkDataset(ds, indices, source), iota(indices.length), { device });
  try {
    const input = { ds, plan, models, indices, x: batch.x, y: batch.y, source, ...pixelUnits(plan) };
    const { delta, success } = method.craftChunk(input, settings, shared);
    const images = quantize(source, toGreyLevelsNHWC(delta), valueBound(method.budget(settings), plan.eps));
    delta.dispose();
    return { indices, images, success, seconds: (performance.now() - t0) / 1000 };
  } finally {
    batch.dispose();
  }
}

const iota = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

/** The images `indices` of `ds`, whose bytes are `images`, as an in-memory dataset of their own. */
function chunkDataset(ds: Dataset, indices: Int32Array, images: Uint8Array): Dataset {
  const { store: _, ...rest } = ds;
  return { ...rest, images, labels: Int32Array.from(indices, (i) => ds.labels[i]!), count: indices.length };
}

/** The plan's method, which must be crafted chunk by chunk. */
export function chunkedMethodOf(plan: CraftPlan): ChunkedMethod {
  const method = methodOf(planMethod(plan));
  if (!method.chunked) throw new Error(`method '${method.name}' optimises the whole set at once, not chunk by chunk`);
  return method;
}

/**
 * What every chunk of the plan shares (ChunkedMethod.prepare), made under the plan's own seed for it, so that it
 * is the same whichever chunks a process crafts; undefined when the method needs none. The caller disposes it.
 */
export function sharedOfRun(
  ds: Dataset,
  plan: CraftPlan,
  models: readonly Module[],
  device: string,
  log: (message: string) => void = () => {},
): Tensor | undefined {
  const method = chunkedMethodOf(plan);
  if (!method.prepare) return undefined;
  manualSeed(sharedSeed(plan.seed));
  const poisoned = poisonedIndices(ds.count, plan.budget, plan.seed);
  return method.prepare(
    { ds, plan, models, poisoned, device, ...pixelUnits(plan), log },
    methodSettings(method, plan.extra),
  );
}

/**
 * Crafts the chunks numbered `chunks` that `store` does not hold yet, in that order. `shared` is sharedOfRun's
 * result for this plan, when the caller keeps it across calls.
 */
export async function craftChunks(
  ds: Dataset,
  plan: CraftPlan,
  models: readonly Module[],
  store: ChunkStore,
  chunks: readonly number[],
  options: CraftRunOptions & { shared?: Tensor | undefined } = {},
): Promise<CraftRunStats> {
  const method = chunkedMethodOf(plan);
  const progress = options.progress ?? silentProgress;
  const settings = methodSettings(method, plan.extra);
  const poisoned = poisonedIndices(ds.count, plan.budget, plan.seed);
  const todo = chunks.filter((k) => !store.has(k, { source: ds, warn: (m) => progress.log(m) }));
  if (todo.length < chunks.length)
    progress.log(`resuming: ${chunks.length - todo.length}/${chunks.length} chunks already crafted`);
  const images = todo.reduce((n, k) => n + Math.min(plan.chunkSize, poisoned.length - k * plan.chunkSize), 0);
  const device = options.device ?? "cpu";
  // Made before the clock starts, unless the caller keeps it across calls (a queue worker crafts a chunk a call).
  const shared =
    options.shared ?? (todo.length ? sharedOfRun(ds, plan, models, device, (m) => progress.log(m)) : undefined);
  const task = progress.start(`crafting ${planMethod(plan)} eps ${plan.eps}/255`, images, "img");
  const t0 = performance.now();
  const what = method.success;
  let done = 0;
  let fooled = 0;
  try {
    for (const k of todo) {
      manualSeed(chunkSeed(plan.seed, k));
      const indices = poisoned.slice(k * plan.chunkSize, (k + 1) * plan.chunkSize);
      let result: ChunkResult;
      try {
        result = craftChunk(method, settings, ds, plan, models, indices, device, shared);
      } catch (e) {
        // A non-finite perturbation (e.g. from a non-finite gradient) is never released: say where it happened.
        throw new Error(`chunk ${k} (images ${indices[0]}..${indices.at(-1)}): ${e instanceof Error ? e.message : e}`);
      }
      store.save(k, result, [ds.height, ds.width, ds.channels]);
      done += indices.length;
      fooled += result.success.reduce((a, b) => a + b, 0);
      const secs = (performance.now() - t0) / 1000;
      task.update(done, { "img/s": (done / secs).toFixed(1), [what.short]: `${((100 * fooled) / done).toFixed(1)}%` });
      await yieldToEventLoop();
    }
  } finally {
    if (shared !== options.shared) shared?.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  task.finish(
    todo.length
      ? `crafted ${done} images in ${seconds.toFixed(1)} s, ${((100 * fooled) / Math.max(1, done)).toFixed(1)}% ${what.long}`
      : "all chunks were already crafted",
  );
  return { chunksDone: todo.length, chunksSkipped: chunks.length - todo.length, imagesCrafted: done, seconds };
}

/** Crafts every chunk of the shard (all of them by default) that the store does not have yet. */
export function craftShard(
  ds: Dataset,
  plan: CraftPlan,
  models: readonly Module[],
  store: ChunkStore,
  options: CraftRunOptions = {},
): Promise<CraftRunStats> {
  const total = chunkCount(poisonedIndices(ds.count, plan.budget, plan.seed).length, plan.chunkSize);
  const mine = chunksOfShard(total, options.shard ?? { index: 0, count: 1 });
  return craftChunks(ds, plan, models, store, mine, options);
}
