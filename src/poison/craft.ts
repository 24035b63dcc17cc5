// Crafting the chunks of one shard: each chunk's poisons depend only on the plan and the chunk number, so
// runs that resume, or that split the work into shards, produce the same bytes.
import { buildBatch, type Dataset } from "../data/index.js";
import type { Module } from "../nn/index.js";
import { manualSeed, noGrad, rand, scope, type Tensor, tensor } from "../torch/index.js";
import { type Progress, silentProgress } from "../train/index.js";
import { quantize } from "./budget.js";
import type { ChunkResult, ChunkStore } from "./chunk-store.js";
import { type Objective, targeted, untargeted } from "./objective.js";
import { type PgdOptions, pgd } from "./pgd.js";
import { type CraftPlan, chunkCount, chunkSeed, chunksOfShard, type PoisonRecipe, poisonedIndices } from "./plan.js";
import { tensorclog } from "./tensorclog.js";

/** TensorClog's default mini-batch: the images whose mean loss makes one parameter gradient. */
export const TENSORCLOG_BATCH_SIZE = 128;

const OBJECTIVES: Partial<Record<CraftPlan["recipe"], Objective>> = { targeted, untargeted };

export interface CraftRunOptions {
  shard?: { index: number; count: number };
  progress?: Progress;
  device?: string;
}

export interface CraftRunStats {
  chunksDone: number;
  chunksSkipped: number;
  imagesCrafted: number;
  seconds: number;
}

/** The plan's attack settings in pixel units ([0, 1] images), as pgd() takes them. */
function pgdOptions(plan: CraftPlan): PgdOptions {
  return {
    eps: plan.eps / 255,
    stepSize: plan.stepSize / 255,
    steps: plan.steps,
    init: plan.init,
    restarts: plan.restarts,
    augment: plan.augment ?? undefined,
  };
}

/** [N,C,H,W] pixel-unit perturbation -> N,H,W,C grey levels, the layout of the uint8 images. */
function toGreyLevelsNHWC(delta: Tensor): Float32Array {
  return scope(() => delta.permute(0, 2, 3, 1).contiguous().mul(255).toTypedArray() as Float32Array);
}

function craftChunk(
  ds: Dataset,
  plan: CraftPlan,
  models: readonly Module[],
  indices: Int32Array,
  device?: string,
): ChunkResult {
  const t0 = performance.now();
  const eps = plan.eps / 255;
  const batch = buildBatch(ds, indices, device ? { device } : {});
  try {
    let delta: Tensor;
    let success: Uint8Array;
    const objective = OBJECTIVES[plan.recipe];
    if (objective) {
      const target = tensor(
        Int32Array.from(indices, (i) => plan.permutation[ds.labels[i]!]!),
        [indices.length],
        device ? { device } : {},
      ).long();
      const r = pgd(models, batch.x, batch.y, target, objective, pgdOptions(plan));
      delta = r.delta;
      success = r.success;
      target.dispose();
    } else if (plan.recipe === "random") {
      delta = noGrad(() =>
        rand(batch.x.shape, { device: batch.x.device })
          .mul_(2 * eps)
          .sub_(eps),
      );
      success = new Uint8Array(indices.length);
    } else if (plan.recipe === "tensorclog") {
      // Success: the image's mini-batch gives the crafting model(s) a smaller parameter gradient than clean.
      const batchSize = plan.extra.batchSize ?? TENSORCLOG_BATCH_SIZE;
      if (typeof batchSize !== "number") throw new Error(`tensorclog: batchSize must be a number, got ${batchSize}`);
      const r = tensorclog(models, batch.x, batch.y, { ...pgdOptions(plan), batchSize });
      delta = r.delta;
      success = r.success;
    } else {
      throw new Error(`recipe '${plan.recipe}' is not crafted chunk by chunk (error-min: use craftErrorMin)`);
    }
    const source = new Uint8Array(indices.length * ds.height * ds.width * ds.channels);
    const size = ds.height * ds.width * ds.channels;
    for (const [b, i] of indices.entries()) source.set(ds.images.subarray(i * size, (i + 1) * size), b * size);
    const images = quantize(source, toGreyLevelsNHWC(delta), plan.eps);
    delta.dispose();
    return { indices, images, success, seconds: (performance.now() - t0) / 1000 };
  } finally {
    batch.dispose();
  }
}

/** What the per-image success flags (a manifest's `fooled`) mean for each recipe: a progress field, a phrase. */
export const SUCCESS_MEANS: Record<PoisonRecipe, { short: string; long: string }> = {
  targeted: { short: "fooled", long: "classified as pi(y) by the crafting model" },
  untargeted: { short: "fooled", long: "no longer classified as y by the crafting model" },
  random: { short: "fooled", long: "fooled the crafting model (never counted: no attack)" },
  "error-min": { short: "learnt", long: "classified correctly by the min-min model (the noise is learnt)" },
  tensorclog: { short: "clogged", long: "in batches whose parameter gradient the noise shrank" },
};

/** Crafts every chunk of the shard that the store does not have yet. */
export async function craftShard(
  ds: Dataset,
  plan: CraftPlan,
  models: readonly Module[],
  store: ChunkStore,
  options: CraftRunOptions = {},
): Promise<CraftRunStats> {
  const poisoned = poisonedIndices(ds.count, plan.budget, plan.seed).length;
  const mine = chunksOfShard(chunkCount(poisoned, plan.chunkSize), options.shard ?? { index: 0, count: 1 });
  return craftChunks(ds, plan, models, store, mine, options);
}

/**
 * Crafts exactly the listed chunks that the store does not hold yet (a shard's, or one queue job's); each
 * chunk is seeded by its number alone, so it comes out the same whoever crafts it, in whatever order.
 */
export async function craftChunks(
  ds: Dataset,
  plan: CraftPlan,
  models: readonly Module[],
  store: ChunkStore,
  chunks: readonly number[],
  options: CraftRunOptions = {},
): Promise<CraftRunStats> {
  const progress = options.progress ?? silentProgress;
  const poisoned = poisonedIndices(ds.count, plan.budget, plan.seed);
  const total = chunkCount(poisoned.length, plan.chunkSize);
  const outside = chunks.filter((k) => !(Number.isInteger(k) && k >= 0 && k < total));
  if (outside.length) throw new RangeError(`chunk ${outside[0]} is outside the plan's ${total} chunks`);
  const todo = chunks.filter((k) => !store.has(k));
  if (todo.length < chunks.length)
    progress.log(`resuming: ${chunks.length - todo.length}/${chunks.length} chunks already crafted`);
  const images = todo.reduce((n, k) => n + Math.min(plan.chunkSize, poisoned.length - k * plan.chunkSize), 0);
  const task = progress.start(`crafting ${plan.recipe} eps ${plan.eps}/255`, images, "img");
  const t0 = performance.now();
  const what = SUCCESS_MEANS[plan.recipe];
  let done = 0;
  let fooled = 0;
  for (const k of todo) {
    manualSeed(chunkSeed(plan.seed, k));
    const indices = poisoned.slice(k * plan.chunkSize, (k + 1) * plan.chunkSize);
    const result = craftChunk(ds, plan, models, indices, options.device);
    store.save(k, result, [ds.height, ds.width, ds.channels]);
    done += indices.length;
    fooled += result.success.reduce((a, b) => a + b, 0);
    const secs = (performance.now() - t0) / 1000;
    task.update(done, { "img/s": (done / secs).toFixed(1), [what.short]: `${((100 * fooled) / done).toFixed(1)}%` });
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  const seconds = (performance.now() - t0) / 1000;
  task.finish(
    todo.length
      ? `crafted ${done} images in ${seconds.toFixed(1)} s, ${((100 * fooled) / Math.max(1, done)).toFixed(1)}% ${what.long}`
      : "all chunks were already crafted",
  );
  return { chunksDone: todo.length, chunksSkipped: chunks.length - todo.length, imagesCrafted: done, seconds };
}
