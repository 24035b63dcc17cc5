// mixup (Zhang et al. 2018): the batch is blended with a shuffled copy of itself, x' = lam x + (1 - lam) x[p],
// and trained on the same blend of the one-hot labels; lam ~ Beta(alpha, alpha), one per batch.
import { F, type Tensor, tensor } from "../../torch/index.js";
import { type BatchTransform, permutationOf, sampleBeta, stepRng } from "./types.js";

export interface MixupOptions {
  alpha: number;
}

/** lam * onehot(y) + (1 - lam) * onehot(y[perm]): class probabilities [B, C]. */
export function mixedTargets(y: Tensor, perm: Tensor, lam: number, numClasses: number): Tensor {
  const a = F.oneHot(y, numClasses).float();
  const b = F.oneHot(y.indexSelect(0, perm), numClasses).float();
  return a.mul(lam).add(b.mul(1 - lam));
}

export function mixup(o: MixupOptions, seed: number, numClasses: number): BatchTransform {
  if (!(o.alpha > 0)) throw new RangeError(`mixup: alpha must be positive, got ${o.alpha}`);
  return ({ x, y }, step) => {
    const rng = stepRng(seed, step);
    const lam = sampleBeta(rng, o.alpha, o.alpha);
    const perm = tensor(permutationOf(rng, x.size(0)), [x.size(0)], { device: x.device }).long();
    return {
      x: x.mul(lam).add(x.indexSelect(0, perm).mul(1 - lam)),
      target: mixedTargets(y, perm, lam, numClasses),
    };
  };
}
