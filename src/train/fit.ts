// A fresh model, made the one way every command makes one: libtorch seeded, the architecture created (its
// initial weights are the seed's first draws), moved to the device; then trained. The crafting pipeline, the
// experiments and audits, the demo, `advpoison train` and error-min's own model all start here, so one seed
// gives one model whichever command trains it.
import type { Dataset } from "../data/index.js";
import { createModel, type ModelSpec } from "../models/index.js";
import type { Module } from "../nn/index.js";
import { manualSeed } from "../torch/index.js";
import { type TrainOptions, type TrainResult, train } from "./trainer.js";

/** A new `architecture` for data of `spec`, initialised from `seed`, on `device`. */
export function freshModel(architecture: string, spec: ModelSpec, seed: number, device = "cpu"): Module {
  manualSeed(seed);
  const model = createModel(architecture, spec);
  try {
    model.to(device);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/** The data's shape as a model takes it. */
export const specOf = (data: Dataset): ModelSpec => ({
  inChannels: data.channels,
  numClasses: data.numClasses,
  imageSize: data.height,
});

export interface FitResult extends TrainResult {
  /** The trained model: the caller's to save and dispose of. */
  model: Module;
}

/**
 * Trains a fresh `architecture` on `data` from `options.seed` (the same seed starts the weights and the
 * training's shuffles). A run that throws disposes of its model.
 */
export async function fit(architecture: string, data: Dataset, options: TrainOptions): Promise<FitResult> {
  const model = freshModel(architecture, specOf(data), options.seed, options.device);
  try {
    return { model, ...(await train(model, data, options)) };
  } catch (e) {
    model.dispose();
    throw e;
  }
}
