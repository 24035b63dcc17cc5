// TensorClog (Shen, Zhu & Ma, ACSAC 2019): perturbations that starve a victim's training of gradient signal.
// Against the fixed crafting model(s), PGD (signed steps, projection onto the L-inf ball and [0, 1])
// minimises the squared L2 norm of the gradient of the batch-mean training loss w.r.t. the parameters,
//   ||d CE(f(x + delta), y) / d theta||^2,
// a double backward: g = grad(loss, theta, createGraph), then d(sum g^2)/d delta. The images are split
// into mini-batches of `batchSize` (a victim's batch), each with its own gradient and objective.
import { z } from "zod";
import type { Module } from "../../nn/index.js";
import { F, grad, keep, noGrad, scope, type Tensor, zerosLike } from "../../torch/index.js";
import { diffAugment } from "../diff-augment.js";
import { ensembleMean, type PgdOptions, type PgdResult, withRestarts } from "../pgd.js";
import { augmentOf } from "../plan.js";
import type { ChunkedMethod } from "./method.js";

export interface TensorClogOptions extends PgdOptions {
  /** Images whose mean loss makes one parameter gradient (a victim's mini-batch). */
  batchSize: number;
}

export interface TensorClogResult extends PgdResult {
  /** Per sample: the squared parameter-gradient norm of its mini-batch at delta = 0 (ensemble mean). */
  initialNorm: Float32Array;
  /**
   * Per sample: the same after the attack, without augmentation. `loss` holds the same values, and
   * `success` is finalNorm < initialNorm: the attack reduced the learning signal of the sample's batch.
   */
  finalNorm: Float32Array;
}

/**
 * The ensemble's mean of ||grad_theta mean CE(f(input), y)||^2, a scalar that can be differentiated again
 * (w.r.t. `input`'s inputs). The parameters must require grad.
 */
function gradNormSq(models: readonly Module[], params: readonly Tensor[][], input: Tensor, y: Tensor): Tensor {
  return ensembleMean(models, (m, k) => {
    const gs = grad(F.crossEntropy(m.forward(input), y), params[k]!, { createGraph: true });
    let norm: Tensor | undefined;
    for (const g of gs) norm = norm ? norm.add(g.pow(2).sum()) : g.pow(2).sum();
    return norm!;
  });
}

/** One mini-batch: the best delta over restarts (one objective value per batch) and the objective at delta = 0. */
function attackBatch(
  models: readonly Module[],
  params: readonly Tensor[][],
  x: Tensor,
  y: Tensor,
  o: TensorClogOptions,
): { delta: Tensor; initial: number; final: number } {
  const n = x.size(0);
  // Without augmentation: the objective a victim's plain batch would give.
  const plain = (d: Tensor) => scope(() => gradNormSq(models, params, x.add(d), y).detach().item());
  const initial = scope(() => plain(zerosLike(x)));
  const augment = o.augment;
  const r = withRestarts(
    x,
    o,
    (d) => {
      const input = x.add(d);
      return gradNormSq(models, params, augment ? diffAugment(input, augment) : input, y);
    },
    // Every image of the batch shares its objective, so per-sample keeping picks one restart for the batch.
    (delta) => {
      const final = plain(delta);
      return { loss: new Float32Array(n).fill(final), success: new Uint8Array(n).fill(final < initial ? 1 : 0) };
    },
  );
  return { delta: r.delta, initial, final: r.loss[0]! };
}

/**
 * Crafts TensorClog perturbations for `x` ([N,C,H,W] in [0, 1]) against `models` (in eval mode). The
 * parameters are made to require grad for the duration of the call (frozen crafters are restored to
 * frozen afterwards), and no parameter's `.grad` is touched.
 */
export function tensorclog(models: readonly Module[], x: Tensor, y: Tensor, o: TensorClogOptions): TensorClogResult {
  if (models.length === 0) throw new Error("tensorclog: no crafting model");
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1)
    throw new RangeError(`tensorclog: batch size must be a positive integer, got ${o.batchSize}`);
  const params = models.map((m) => m.parameters());
  const before = params.map((ps) => ps.map((p) => p.requiresGrad));
  for (const ps of params) for (const p of ps) p.requiresGrad_(true);
  const n = x.size(0);
  const initialNorm = new Float32Array(n);
  const finalNorm = new Float32Array(n);
  const parts: Tensor[] = [];
  try {
    for (let start = 0; start < n; start += o.batchSize) {
      const end = Math.min(n, start + o.batchSize);
      const r = scope(() => {
        const xb = x.slice(0, start, end);
        const yb = y.slice(0, start, end);
        const initial = o.initial?.slice(0, start, end);
        return attackBatch(models, params, xb, yb, initial ? { ...o, initial } : o);
      });
      parts.push(keep(r.delta));
      initialNorm.fill(r.initial, start, end);
      finalNorm.fill(r.final, start, end);
    }
  } finally {
    params.forEach((ps, k) => {
      ps.forEach((p, i) => {
        p.requiresGrad_(before[k]![i]!);
      });
    });
  }
  const delta = keep(noGrad(() => F.cat(parts, 0)));
  for (const p of parts) p.dispose();
  const success = Uint8Array.from(finalNorm, (v, i) => (v < initialNorm[i]! ? 1 : 0));
  return { delta, loss: finalNorm.slice(), success, initialNorm, finalNorm };
}

/** TensorClog's default mini-batch: the images whose mean loss makes one parameter gradient. */
export const TENSORCLOG_BATCH_SIZE = 128;

export const TENSORCLOG_SETTINGS = z.strictObject({
  batchSize: z.number().int().positive().default(TENSORCLOG_BATCH_SIZE),
});

export const tensorclogMethod: ChunkedMethod<typeof TENSORCLOG_SETTINGS> = {
  name: "tensorclog",
  citation: "Shen et al. 2019",
  needsCrafter: true,
  ownModel: false,
  augments: false,
  secondOrder: true,
  attacks: true,
  restartable: true,
  defaults: { steps: 100, tau: 0.05, init: "zero" },
  budget: () => "linf",
  success: { short: "clogged", long: "in batches whose parameter gradient the noise shrank" },
  settings: TENSORCLOG_SETTINGS,
  flags: [
    {
      flags: "--tc-batch-size <n>",
      key: "batchSize",
      description: `tensorclog: images per parameter gradient, a victim's mini-batch (default ${TENSORCLOG_BATCH_SIZE})`,
      parse: Number,
    },
  ],
  chunked: true,
  craftChunk({ plan, models, x, y, eps, stepSize }, s) {
    const r = tensorclog(models, x, y, {
      eps,
      stepSize,
      steps: plan.steps,
      init: plan.init,
      restarts: plan.restarts,
      augment: augmentOf(plan),
      batchSize: s.batchSize,
    });
    return { delta: r.delta, success: r.success };
  },
};
