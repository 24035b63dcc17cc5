// Projected gradient descent on the perturbation, the engine of every gradient-based poison here:
// signed steps, projection onto the L-inf ball and the valid pixel range, differentiable augmentation,
// an ensemble of crafting models, and restarts that keep each sample's best perturbation.
import type { Module } from "../nn/index.js";
import { grad, keep, noGrad, rand, randn, scope, type Tensor, tensor, zerosLike } from "../torch/index.js";
import { type DiffAugmentOptions, diffAugment } from "./diff-augment.js";
import type { Objective } from "./objective.js";

export type Init = "randn" | "uniform" | "zero";

export interface PgdOptions {
  /** Ball radius in pixel units ([0, 1] images): eps grey levels / 255. */
  eps: number;
  /** Step size in pixel units. */
  stepSize: number;
  steps: number;
  init: Init;
  restarts: number;
  /** Differentiable augmentation inside the loop; undefined turns it off. */
  augment: DiffAugmentOptions | undefined;
  /**
   * A starting perturbation (pixel units, x's shape) that every restart uses instead of `init`: a warm start,
   * as error-minimising noise needs between rounds. Projected onto the ball and the pixel range first.
   */
  initial?: Tensor;
}

export interface PgdResult {
  /** Best perturbation per sample, pixel units, same shape as x. */
  delta: Tensor;
  /** Final objective per sample (lower is better), without augmentation. */
  loss: Float32Array;
  success: Uint8Array;
}

/** A starting perturbation in the ball, on x's device. */
export function initDelta(x: Tensor, init: Init, eps: number): Tensor {
  const on = { device: x.device };
  switch (init) {
    // The authors' init: Gaussian scaled by eps, clipped to the ball.
    case "randn":
      return randn(x.shape, on).mul_(eps).clamp_(-eps, eps);
    case "uniform":
      return rand(x.shape, on)
        .mul_(2 * eps)
        .sub_(eps);
    case "zero":
      return zerosLike(x);
  }
}

/** The ensemble's mean objective per sample. */
function ensembleLoss(
  models: readonly Module[],
  input: Tensor,
  y: Tensor,
  target: Tensor,
  objective: Objective,
): Tensor {
  let total: Tensor | undefined;
  for (const m of models) {
    const l = objective.loss(m.forward(input), y, target);
    total = total ? total.add(l) : l;
  }
  return total!.div(models.length);
}

/**
 * Crafts perturbations for a batch `x` ([N,C,H,W] in [0, 1]) against `models`, which must be in eval mode
 * with frozen parameters (so that backward computes input gradients only).
 */
export function pgd(
  models: readonly Module[],
  x: Tensor,
  y: Tensor,
  target: Tensor,
  objective: Objective,
  o: PgdOptions,
): PgdResult {
  if (models.length === 0) throw new Error("pgd: no crafting model");
  let best: PgdResult | undefined;
  for (let r = 0; r < o.restarts; r++) {
    let delta = keep(
      noGrad(() => {
        const d = o.initial ? o.initial.clamp(-o.eps, o.eps) : initDelta(x, o.init, o.eps);
        return scope(() => x.add(d).clamp_(0, 1).sub(x));
      }),
    );
    for (let s = 0; s < o.steps; s++) {
      const next = scope(() => {
        const d = delta.detach().requiresGrad_(true);
        const input = x.add(d);
        const seen = o.augment ? diffAugment(input, o.augment) : input;
        const [g] = grad(ensembleLoss(models, seen, y, target, objective).sum(), d);
        return noGrad(() => {
          const stepped = d.detach().sub_(g!.sign(), o.stepSize).clamp_(-o.eps, o.eps);
          return x.add(stepped).clamp_(0, 1).sub_(x);
        });
      });
      delta.dispose();
      delta = keep(next);
    }
    const result = score(models, x, y, target, objective, delta);
    best = best ? keepBetter(best, result) : result;
  }
  return best!;
}

function score(
  models: readonly Module[],
  x: Tensor,
  y: Tensor,
  target: Tensor,
  objective: Objective,
  delta: Tensor,
): PgdResult {
  return noGrad(() =>
    scope(() => {
      const input = x.add(delta);
      const loss = ensembleLoss(models, input, y, target, objective).toTypedArray() as Float32Array;
      // An ensemble is fooled when its mean logits are.
      let logits: Tensor | undefined;
      for (const m of models) logits = logits ? logits.add(m.forward(input)) : m.forward(input);
      const success = objective.success(logits!, y, target).toTypedArray() as Uint8Array;
      return { delta, loss, success };
    }),
  );
}

/** Per sample, the restart with the lower final objective (the authors keep the best per batch). */
function keepBetter(a: PgdResult, b: PgdResult): PgdResult {
  const n = a.loss.length;
  const takeB = new Uint8Array(n);
  const loss = new Float32Array(n);
  const success = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    takeB[i] = b.loss[i]! < a.loss[i]! ? 1 : 0;
    loss[i] = takeB[i] ? b.loss[i]! : a.loss[i]!;
    success[i] = takeB[i] ? b.success[i]! : a.success[i]!;
  }
  const delta = keep(
    scope(() => {
      const mask = tensorMask(takeB, a.delta);
      return a.delta.mul(mask.logicalNot()).add(b.delta.mul(mask));
    }),
  );
  a.delta.dispose();
  b.delta.dispose();
  return { delta, loss, success };
}

/** Per-sample flags as a bool tensor that broadcasts over `like`'s other dims. */
function tensorMask(flags: Uint8Array, like: Tensor): Tensor {
  const shape = like.shape.map((s, i) => (i === 0 ? s : 1));
  return tensor(flags, shape, { dtype: "bool", device: like.device });
}
