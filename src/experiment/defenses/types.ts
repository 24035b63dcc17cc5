// What a defence is to the victim's training loop: a transform of each mini-batch before the forward pass
// (train()'s `batchTransform` hook). Pixels are in [0, 1] (victims here train without normalisation).
import { Rng } from "../../data/index.js";
import type { Module } from "../../nn/index.js";
import type { Tensor } from "../../torch/index.js";

export interface BatchStep {
  model: Module;
  epoch: number;
  /** The batch's index within its epoch. */
  index: number;
}

/** x [B, C, H, W] and y (int64 [B]) in; the batch to train on out, with class probabilities [B, C] as
 * `target` when labels are mixed. Called inside the step's scope: tensors it makes are freed with it. */
export type BatchTransform = (batch: { x: Tensor; y: Tensor }, step: BatchStep) => { x: Tensor; target?: Tensor };

/**
 * The JS random stream of one training step: a function of (seed, epoch, batch) only, so a victim resumed
 * from an epoch checkpoint draws the same boxes and mixing weights again.
 */
export function stepRng(seed: number, step: Pick<BatchStep, "epoch" | "index">): Rng {
  return new Rng(seed, 1_000_003 * (step.epoch + 1) + step.index);
}

/** Beta(a, b) from two gamma draws (Marsaglia & Tsang), for mixup's and cutmix's mixing weight. */
export function sampleBeta(rng: Rng, a: number, b: number): number {
  const x = sampleGamma(rng, a);
  const y = sampleGamma(rng, b);
  return x + y === 0 ? 0.5 : x / (x + y);
}

function sampleGamma(rng: Rng, shape: number): number {
  if (shape < 1) {
    // Gamma(a) = Gamma(a + 1) * U^(1/a).
    const u = Math.max(rng.nextFloat(), Number.MIN_VALUE);
    return sampleGamma(rng, shape + 1) * u ** (1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(rng);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng.nextFloat();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(Math.max(u, Number.MIN_VALUE)) < 0.5 * x * x + d * (1 - v + Math.log(v)))
      return d * v;
  }
}

/** A standard normal draw (Box-Muller). */
function normal(rng: Rng): number {
  const u = Math.max(rng.nextFloat(), Number.MIN_VALUE);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.nextFloat());
}

/** A seeded permutation of 0..n-1. */
export function permutationOf(rng: Rng, n: number): Int32Array {
  return rng.shuffle(Int32Array.from({ length: n }, (_, i) => i));
}
