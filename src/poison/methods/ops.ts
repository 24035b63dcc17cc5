// One-pixel shortcut (OPS; Wu, Chen, Xu & Wang, ICLR 2023): every image of a class gets the same single pixel
// set to the same boundary value (0 or 1 per channel), chosen per class so that the change is large and
// steady across the class: the objective is mean / std of |value - x| over the class's images and channels at
// that position. Followed: APBench's attack/ops_poisons.py (pixel_search, sparsity 1), which takes classes in
// order and excludes the (position, value) pairs that earlier classes took. Where every image of a class has
// the same value at a position the std is 0: the score is +inf if the change is non-zero (a perfect shortcut;
// numpy's mean/std gives inf too) and 0 if there is no change (numpy's 0/0 = NaN would sort last and win,
// changing nothing). Ties go to the first position (row-major), then the first value.
//
// Its budget is L0 = 1 (one pixel per image, any value): eps bounds nothing, so plans record 255.
//
// Chunked, not whole-set: the search is a deterministic function of the poisoned set (the plan's dataset,
// budget and seed), one pass over its pixels, so every process (each shard, a resumed run) recomputes it
// (memoised per dataset and plan) and chunks stay independent: the same bytes however the work is split.
import { type Dataset, readImages, STREAM_BLOCK } from "../../data/index.js";
import { tensor } from "../../torch/index.js";
import { poisonedIndices } from "../plan.js";
import { NO_SETTINGS } from "./adversarial.js";
import type { ChunkedMethod } from "./method.js";

/** A class's per-value sums at every position: `s1[p * C + k]` = sum of grey levels, `s2` of their squares. */
export interface ClassSums {
  images: number;
  s1: Float64Array;
  s2: Float64Array;
}

/** The sums for every class over the images `indices` of `ds` (integers, exact). */
export function classSums(ds: Dataset, indices: ArrayLike<number>): ClassSums[] {
  const size = ds.height * ds.width * ds.channels;
  const sums = Array.from({ length: ds.numClasses }, () => ({
    images: 0,
    s1: new Float64Array(size),
    s2: new Float64Array(size),
  }));
  // A block of images at a time (a streamed dataset's files decoded block by block); integer sums, exact.
  for (let start = 0; start < indices.length; start += STREAM_BLOCK) {
    const block = Array.from({ length: Math.min(STREAM_BLOCK, indices.length - start) }, (_, j) => indices[start + j]!);
    const images = readImages(ds, block);
    block.forEach((i, j) => {
      const c = sums[ds.labels[i]!]!;
      c.images++;
      const image = images.subarray(j * size, (j + 1) * size);
      for (let p = 0; p < size; p++) {
        const g = image[p]!;
        c.s1[p] = c.s1[p]! + g;
        c.s2[p] = c.s2[p]! + g * g;
      }
    });
  }
  return sums;
}

/** Channel k's boundary value (0 or 1) in value code `v`: the first channel is the highest bit, as APBench's. */
export const channelBit = (v: number, k: number, channels: number): number => (v >> (channels - 1 - k)) & 1;

/**
 * OPS's objective for setting `pixel` (row-major position) to value code `value` in a class:
 * mean / std of |value - x| over its images and channels (population std), NaN for a class without images.
 */
export function shortcutScore(sums: ClassSums, pixel: number, value: number, channels: number): number {
  // In grey levels: d = x where the bit is 0, 255 - x where it is 1; a = sum d, b = sum d^2, both integers.
  let a = 0;
  let b = 0;
  for (let k = 0; k < channels; k++) {
    const s1 = sums.s1[pixel * channels + k]!;
    const s2 = sums.s2[pixel * channels + k]!;
    if (channelBit(value, k, channels)) {
      a += 255 * sums.images - s1;
      b += 255 * 255 * sums.images - 2 * 255 * s1 + s2;
    } else {
      a += s1;
      b += s2;
    }
  }
  const m = sums.images * channels;
  if (m === 0) return Number.NaN;
  // var = (b m - a^2) / m^2, exactly zero when every value is the same.
  const spread = b * m - a * a;
  if (spread <= 0) return a > 0 ? Number.POSITIVE_INFINITY : 0;
  return a / Math.sqrt(spread);
}

/** A class's pixel: its row-major position, the value code, and its score; null for a class without images. */
export interface ClassPixel {
  pixel: number;
  value: number;
  score: number;
}

/** The search: per class in order, the best (position, value) that no earlier class took. */
export function searchPixels(ds: Dataset, indices: ArrayLike<number>): (ClassPixel | null)[] {
  const pixels = ds.height * ds.width;
  const values = 2 ** ds.channels;
  const taken = new Set<number>();
  return classSums(ds, indices).map((sums) => {
    if (sums.images === 0) return null;
    let best: ClassPixel | null = null;
    for (let p = 0; p < pixels; p++) {
      for (let v = 0; v < values; v++) {
        if (taken.has(p * values + v)) continue;
        const score = shortcutScore(sums, p, v, ds.channels);
        if (!best || score > best.score) best = { pixel: p, value: v, score };
      }
    }
    taken.add(best!.pixel * values + best!.value);
    return best;
  });
}

const searches = new WeakMap<Dataset, Map<string, (ClassPixel | null)[]>>();

/** The search over the plan's poisoned set, once per dataset and poisoned set in a process. */
function pixelsOf(ds: Dataset, plan: { budget: number; seed: number }): (ClassPixel | null)[] {
  let byPlan = searches.get(ds);
  if (!byPlan) searches.set(ds, (byPlan = new Map()));
  const key = `${plan.budget}/${plan.seed}`;
  let found = byPlan.get(key);
  if (!found) byPlan.set(key, (found = searchPixels(ds, poisonedIndices(ds.count, plan.budget, plan.seed))));
  return found;
}

export const ops: ChunkedMethod<typeof NO_SETTINGS> = {
  name: "ops",
  citation: "Wu et al. 2023, one-pixel shortcut",
  needsCrafter: false,
  ownModel: false,
  augments: false,
  attacks: true,
  restartable: false,
  // No PGD (a pixel search): the plan records zero steps.
  defaults: { steps: 0, tau: 0, init: "zero" },
  budget: () => "l0",
  success: { short: "changed", long: "with their class's pixel changed (not already at its value)" },
  settings: NO_SETTINGS,
  flags: [],
  chunked: true,
  craftChunk({ ds, plan, indices, x, source }) {
    const { height: h, width: w, channels: ch } = ds;
    const chosen = pixelsOf(ds, plan);
    const images = source ?? readImages(ds, indices);
    const size = ch * h * w;
    const delta = new Float32Array(indices.length * size);
    const success = new Uint8Array(indices.length);
    indices.forEach((i, b) => {
      const { pixel, value } = chosen[ds.labels[i]!]!;
      for (let k = 0; k < ch; k++) {
        const grey = images[(b * h * w + pixel) * ch + k]!;
        const target = 255 * channelBit(value, k, ch);
        // N,C,H,W pixel units; the released value is then exactly the target.
        delta[b * size + k * h * w + pixel] = (target - grey) / 255;
        if (grey !== target) success[b] = 1;
      }
    });
    return { delta: tensor(delta, x.shape, { device: x.device }), success };
  },
};
