// One perturbation per class, shared by all of the class's images: a class-wise universal adversarial
// perturbation (Moosavi-Dezfooli et al., "Universal adversarial perturbations", CVPR 2017, made per class and
// targeted), crafted by PGD over a sample of each class's images against the crafting models, through the attack's
// augmentation. The adversarial poisons of Fowl et al. differ per image, and victims stopped early learn the clean
// features before them; a part that is the same for a whole class is a feature a network picks up at once (the
// shortcut of class-wise unlearnable examples, Huang et al. 2021, and LSP, Yu et al. 2022), and here it points at
// pi(y) in the crafting models as well. The adversarial methods' `classShare` gives it a share of eps and crafts
// each image's own perturbation in the rest, from x + its class's part.
import { type Batch, buildBatch, type Dataset } from "../data/index.js";
import type { Module } from "../nn/index.js";
import { grad, keep, noGrad, scope, type Tensor, tensor, zeros } from "../torch/index.js";
import { type DiffAugmentOptions, diffAugment } from "./diff-augment.js";
import type { Objective } from "./objective.js";
import { ensembleMean } from "./pgd.js";

export interface ClassWiseOptions {
  /** Ball radius and step of the class-wise part, pixel units. */
  eps: number;
  stepSize: number;
  steps: number;
  augment: DiffAugmentOptions | undefined;
  /** Images of each class the perturbation is crafted over (the first ones of `candidates` with that label). */
  perClass: number;
  /** Images per forward/backward pass; a step sums the gradients of every batch. */
  batchSize: number;
  /** Class c's target (pi(c) for the class-targeted attack). */
  permutation: readonly number[];
}

/** The first `perClass` images of each class among `candidates` (dataset indices), in the candidates' order. */
export function classSample(
  labels: Int32Array,
  candidates: Int32Array,
  numClasses: number,
  perClass: number,
): Int32Array {
  const taken = new Array<number>(numClasses).fill(0);
  const out: number[] = [];
  for (const i of candidates) {
    const c = labels[i]!;
    if (taken[c]! < perClass) {
      taken[c]!++;
      out.push(i);
    }
  }
  return Int32Array.from(out);
}

/**
 * [numClasses, C, H, W] perturbations in the eps ball (pixel units), from zero: each PGD step moves class c's
 * perturbation by the sign of the objective's gradient summed over the sample of class c. `models` must be in
 * eval mode with frozen parameters.
 */
export function classWisePerturbation(
  models: readonly Module[],
  ds: Dataset,
  candidates: Int32Array,
  objective: Objective,
  o: ClassWiseOptions,
  device: string,
): Tensor {
  const sample = classSample(ds.labels, candidates, ds.numClasses, o.perClass);
  const batches: { batch: Batch; target: Tensor }[] = [];
  try {
    for (let start = 0; start < sample.length; start += o.batchSize) {
      const indices = sample.subarray(start, start + o.batchSize);
      const target = Int32Array.from(indices, (i) => o.permutation[ds.labels[i]!]!);
      batches.push({
        batch: buildBatch(ds, indices, { device }),
        target: tensor(target, [target.length], { device }).long(),
      });
    }
    let u = keep(zeros([ds.numClasses, ds.channels, ds.height, ds.width], { device }));
    for (let s = 0; s < o.steps; s++) {
      const next = scope(() => {
        let total: Tensor | undefined;
        for (const { batch, target } of batches) {
          const { x, y } = batch;
          const d = u.detach().requiresGrad_(true);
          // One perturbation serves images of different pixels: [0, 1] is enforced on each image's input.
          const input = x.add(d.indexSelect(0, y)).clamp(0, 1);
          const seen = o.augment ? diffAugment(input, o.augment) : input;
          const loss = ensembleMean(models, (m) => objective.loss(m.forward(seen), y, target)).sum();
          const [g] = grad(loss, d);
          total = total ? total.add(g!) : g!;
        }
        return noGrad(() => u.sub(total!.sign(), o.stepSize).clamp_(-o.eps, o.eps));
      });
      u.dispose();
      u = keep(next);
    }
    return u;
  } finally {
    for (const b of batches) {
      b.batch.dispose();
      b.target.dispose();
    }
  }
}
