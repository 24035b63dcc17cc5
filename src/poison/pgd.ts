// Projected gradient descent on a perturbation, the engine of every gradient-based poison here: signed steps,
// projection onto the L-inf ball (and the valid pixel range), restarts that keep each sample's best result.
// `descend` is the loop itself, shared by the adversarial poisons (`pgd`: an objective on the crafting models'
// logits, with differentiable augmentation and ensembles), TensorClog (a batch objective on parameter
// gradients) and class-wise error-minimising noise (one delta per class, expanded to the batch).
import type { Module } from "../nn/index.js";
import { grad, keep, noGrad, rand, randn, scope, type Tensor, tensor, zeros } from "../torch/index.js";
import { type DiffAugmentOptions, diffAugment } from "./diff-augment.js";
import type { Objective } from "./objective.js";
import { type DefenceView, prepareViews } from "./views.js";

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
  /** Defence views after the augmentation (./views.ts), for a share of the images at every step. */
  views?: { views: readonly DefenceView[]; share: number } | undefined;
  /**
   * A starting perturbation (pixel units, x's shape) that every restart uses instead of `init`: a warm start,
   * as error-minimising noise needs between rounds. Projected onto the ball and the pixel range first.
   */
  initial?: Tensor;
  /**
   * Per-value bounds on the perturbation (pixel units, x's shape) inside the ball and the pixel range, e.g. the
   * crossing code's (./crossing-code.ts): each step ends inside them instead of merely inside the pixel range.
   */
  box?: { lo: Tensor; hi: Tensor } | undefined;
}

export interface PgdResult {
  /** Best perturbation per sample, pixel units, same shape as x. */
  delta: Tensor;
  /** Final objective per sample (lower is better), without augmentation. */
  loss: Float32Array;
  success: Uint8Array;
}

/** A starting perturbation of `shape` in the eps ball (pixel units) on `device`: the one initialiser. */
export function initDelta(shape: readonly number[], init: Init, eps: number, device: string): Tensor {
  const on = { device };
  switch (init) {
    // The authors' init: Gaussian scaled by eps, clipped to the ball.
    case "randn":
      return randn([...shape], on)
        .mul_(eps)
        .clamp_(-eps, eps);
    case "uniform":
      return rand([...shape], on)
        .mul_(2 * eps)
        .sub_(eps);
    case "zero":
      return zeros([...shape], on);
  }
}

/**
 * x + d clipped to the valid pixel range, minus x: the part of d that a [0, 1] image can carry. In place on d
 * (every caller hands over a fresh perturbation): a full-resolution photo's copy would be 12 bytes a pixel.
 */
export function intoPixelRange(x: Tensor, d: Tensor): Tensor {
  return d.add_(x).clamp_(0, 1).sub_(x);
}

/** One descent: `steps` signed steps on `start` (consumed) minimising `objective` (summed), projected each step. */
export interface Descent {
  eps: number;
  stepSize: number;
  steps: number;
  /** The differentiable objective of perturbation d (requires grad): a scalar or per-sample values, summed. */
  objective: (d: Tensor) => Tensor;
  /** After a step and the clamp to the ball: the further projection (e.g. onto the pixel range). */
  project: (d: Tensor) => Tensor;
}

/** Runs the descent from `start` (which it disposes) and returns the final perturbation, kept. */
export function descend(start: Tensor, o: Descent): Tensor {
  let delta = start;
  for (let s = 0; s < o.steps; s++) {
    const next = scope(() => {
      const d = delta.detach().requiresGrad_(true);
      const [g] = grad(o.objective(d).sum(), d);
      return noGrad(() => o.project(d.detach().sub_(g!.sign_(), o.stepSize).clamp_(-o.eps, o.eps)));
    });
    delta.dispose();
    delta = keep(next);
  }
  return delta;
}

/** The projection that ends every step: onto the box where there is one, else onto the pixel range. */
function projection(x: Tensor, box: PgdOptions["box"]): (d: Tensor) => Tensor {
  return box ? (d) => d.clamp_(box.lo, box.hi) : (d) => intoPixelRange(x, d);
}

/** The starting perturbation of a restart: the warm start or a draw of `init`, inside the ball and [0, 1]. */
export function startOf(x: Tensor, o: Pick<PgdOptions, "eps" | "init" | "initial" | "box">): Tensor {
  const project = projection(x, o.box);
  return keep(
    noGrad(() =>
      scope(() => project(o.initial ? o.initial.clamp(-o.eps, o.eps) : initDelta(x.shape, o.init, o.eps, x.device))),
    ),
  );
}

/**
 * Restarts of a descent on x's perturbation, keeping per sample the restart whose `score` loss is lowest (the
 * authors keep the best per batch; per sample is at least as good and independent of batching).
 */
export function withRestarts(
  x: Tensor,
  o: PgdOptions,
  objective: (d: Tensor) => Tensor,
  score: (delta: Tensor) => { loss: Float32Array; success: Uint8Array },
): PgdResult {
  let best: PgdResult | undefined;
  for (let r = 0; r < o.restarts; r++) {
    const delta = descend(startOf(x, o), { ...o, objective, project: projection(x, o.box) });
    const result = { delta, ...score(delta) };
    best = best ? keepBetter(best, result) : result;
  }
  return best!;
}

/**
 * The mean over an ensemble of `f(model, k)`, summed in the models' order: how every attack here (PGD, TensorClog,
 * protect) and every ensemble prediction combines its crafting models.
 */
export function ensembleMean(models: readonly Module[], f: (model: Module, k: number) => Tensor): Tensor {
  if (models.length === 0) throw new Error("an ensemble needs at least one model");
  let total: Tensor | undefined;
  models.forEach((m, k) => {
    const v = f(m, k);
    total = total ? total.add(v) : v;
  });
  return total!.div(models.length);
}

/** The ensemble's mean objective per sample. */
function ensembleLoss(
  models: readonly Module[],
  input: Tensor,
  y: Tensor,
  target: Tensor,
  objective: Objective,
): Tensor {
  return ensembleMean(models, (m) => objective.loss(m.forward(input), y, target));
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
  const augment = o.augment;
  // The views' constants are made once for the batch, not at every step.
  const views = o.views ? prepareViews(o.views.views, o.views.share, x.device) : undefined;
  const loss = (d: Tensor) => {
    const input = x.add(d);
    const augmented = augment ? diffAugment(input, augment) : input;
    return ensembleLoss(models, views ? views.apply(augmented) : augmented, y, target, objective);
  };
  try {
    return withRestarts(x, o, loss, (delta) => score(models, x, y, target, objective, delta));
  } finally {
    views?.dispose();
  }
}

function score(
  models: readonly Module[],
  x: Tensor,
  y: Tensor,
  target: Tensor,
  objective: Objective,
  delta: Tensor,
): { loss: Float32Array; success: Uint8Array } {
  return noGrad(() =>
    scope(() => {
      const input = x.add(delta);
      // One forward per model gives both the ensemble's mean objective and its mean logits (an ensemble is
      // fooled when its mean logits are); the sums run in the same order as ensembleLoss's.
      let total: Tensor | undefined;
      let logits: Tensor | undefined;
      for (const m of models) {
        const out = m.forward(input);
        const l = objective.loss(out, y, target);
        total = total ? total.add(l) : l;
        logits = logits ? logits.add(out) : out;
      }
      const loss = total!.div(models.length).toTypedArray() as Float32Array;
      const success = objective.success(logits!, y, target).toTypedArray() as Uint8Array;
      return { loss, success };
    }),
  );
}

/** Per sample, the restart with the lower final objective. */
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
