// Differentiable augmentation inside the attack loop: random translations (up to a fraction of the side)
// and horizontal flips, applied with affine_grid + grid_sample so gradients flow back to the perturbation.
// Poisons crafted through it survive the victim's own crop/flip augmentation (Fowl et al., Geiping et al.).
import { F, ones, rand, scope, type Tensor, zeros } from "../torch/index.js";

export interface DiffAugmentOptions {
  /** Largest shift as a fraction of the image side (the authors' 1/4: 8 pixels on 32x32). */
  maxShift: number;
  flip: boolean;
}

export const DEFAULT_DIFF_AUGMENT: DiffAugmentOptions = { maxShift: 0.25, flip: true };

/**
 * One random translation+flip per image of `x` [N,C,H,W]. The affine maps are drawn and assembled on x's
 * device: this runs at every PGD step, where a round trip through host memory would be a sync point on a GPU.
 */
export function diffAugment(x: Tensor, o: DiffAugmentOptions): Tensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  return scope(() => {
    const on = { device: x.device };
    const r = rand([n, 3], on);
    // theta = [[sx, 0, tx], [0, 1, ty]]: sx = -1 flips, t in [-2*maxShift, 2*maxShift] shifts (grid units span 2).
    const sx = o.flip ? r.select(1, 0).lt(0.5).float().mul(-2).add(1) : ones([n], on);
    const shift = r
      .slice(1, 1, 3)
      .mul(2)
      .sub(1)
      .mul(2 * o.maxShift);
    const zero = zeros([n], on);
    const theta = F.stack(
      [F.stack([sx, zero, shift.select(1, 0)], 1), F.stack([zero, ones([n], on), shift.select(1, 1)], 1)],
      1,
    );
    const grid = F.affineGrid(theta, [n, c, h, w], false);
    return F.gridSample(x, grid, { mode: "bilinear", padding: "zeros", alignCorners: false });
  });
}
