// CutMix (Yun et al. 2019): a box of a shuffled copy of the batch is pasted into each image, and the labels
// are mixed by the area actually kept: lam ~ Beta(alpha, alpha), a box of area (1 - lam) H W with a uniform
// centre, clipped at the borders, then lam = 1 - (box area) / (H W). One box and lam per batch, as published.
import { tensor } from "../../torch/index.js";
import { mixedTargets } from "./mixup.js";
import { type BatchTransform, permutationOf, sampleBeta, stepRng } from "./types.js";

export interface CutmixOptions {
  alpha: number;
}

export function cutmix(o: CutmixOptions, seed: number, numClasses: number): BatchTransform {
  if (!(o.alpha > 0)) throw new RangeError(`cutmix: alpha must be positive, got ${o.alpha}`);
  return ({ x, y }, step) => {
    const [b, , h, w] = x.shape as [number, number, number, number];
    const rng = stepRng(seed, step);
    const lam0 = sampleBeta(rng, o.alpha, o.alpha);
    const perm = tensor(permutationOf(rng, b), [b], { device: x.device }).long();
    // The box's sides: sqrt(1 - lam) of the image's, centred anywhere (as the authors' rand_bbox).
    const r = Math.sqrt(1 - lam0);
    const cy = rng.nextInt(h);
    const cx = rng.nextInt(w);
    const bh = Math.floor(h * r);
    const bw = Math.floor(w * r);
    const top = Math.max(0, cy - Math.floor(bh / 2));
    const bottom = Math.min(h, cy + Math.floor(bh / 2));
    const left = Math.max(0, cx - Math.floor(bw / 2));
    const right = Math.min(w, cx + Math.floor(bw / 2));
    const mask = new Float32Array(h * w);
    for (let row = top; row < bottom; row++) mask.fill(1, row * w + left, row * w + right);
    const lam = 1 - ((bottom - top) * (right - left)) / (h * w);
    const m = tensor(mask, [1, 1, h, w], { device: x.device });
    return {
      x: x.mul(m.neg().add(1)).add(x.indexSelect(0, perm).mul(m)),
      target: mixedTargets(y, perm, lam, numClasses),
    };
  };
}
