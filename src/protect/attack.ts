// The perturbation of one photo, at the photo's own resolution: PGD (signed steps, the eps ball, the pixel
// range) on the crafting models' loss averaged over a fresh batch of pipeline views every step (expectation
// over transformation), one of which is always the evaluation pipeline's centre crop.
import type { Module } from "../nn/index.js";
import type { Objective } from "../poison/objective.js";
import { descend, ensembleMean, intoPixelRange, startOf } from "../poison/pgd.js";
import { noGrad, rand, type Tensor, tensor } from "../torch/index.js";
import { type Crop, centreCrop, randomCrop, views } from "./view.js";

export interface PhotoAttack {
  /** Pixel units ([0, 1] images). */
  eps: number;
  stepSize: number;
  steps: number;
  /** Views per step: the centre crop and views - 1 random crops. */
  views: number;
  /** The models' input side. */
  side: number;
  objective: Objective;
}

/** The views of one step: the evaluation crop, then random crops from the generator (seeded by the caller). */
function stepCrops(width: number, height: number, o: PhotoAttack): Crop[] {
  const draws = o.views > 1 ? (rand([o.views - 1, 5]).toTypedArray() as Float32Array) : new Float32Array();
  const crops = [centreCrop(width, height)];
  for (let v = 0; v + 1 < o.views; v++)
    crops.push(randomCrop(width, height, Array.from(draws.subarray(5 * v, 5 * v + 5))));
  return crops;
}

/** The ensemble's mean objective over `input`'s views; `ys`, `ts`: the label and target once per view. */
function viewLoss(
  models: readonly Module[],
  input: Tensor,
  crops: readonly Crop[],
  ys: Tensor,
  ts: Tensor,
  o: PhotoAttack,
) {
  const batch = views(input, crops, o.side);
  return ensembleMean(models, (m) => o.objective.loss(m.forward(batch), ys, ts).mean());
}

/**
 * The perturbation (pixel units, x's shape) of photo x [1, 3, H, W] in [0, 1] with label y against `models`
 * (frozen, eval mode): `target` for a targeted objective. Starts from the authors' randn init. The label tensors
 * it makes belong to the caller's scope.
 */
export function attackPhoto(models: readonly Module[], x: Tensor, y: number, target: number, o: PhotoAttack): Tensor {
  const [, , height, width] = x.shape as [number, number, number, number];
  const start = startOf(x, { eps: o.eps, init: "randn" });
  // Every step's views carry the same label and target: made once per photo, not per step.
  const ys = tensor(new BigInt64Array(o.views).fill(BigInt(y)), [o.views], { device: x.device });
  const ts = tensor(new BigInt64Array(o.views).fill(BigInt(target)), [o.views], { device: x.device });
  return descend(start, {
    eps: o.eps,
    stepSize: o.stepSize,
    steps: o.steps,
    objective: (d) => viewLoss(models, x.add(d), stepCrops(width, height, o), ys, ts, o),
    project: (d) => intoPixelRange(x, d),
  });
}

/** The models' (ensemble-mean) logits on a batch of model-sized inputs [N, 3, side, side]. */
export function ensembleLogits(models: readonly Module[], input: Tensor): Tensor {
  return noGrad(() => ensembleMean(models, (m) => m.forward(input)));
}
