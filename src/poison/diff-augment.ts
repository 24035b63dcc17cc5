// Differentiable augmentation inside the attack loop: random translations (up to a fraction of the side)
// and horizontal flips, applied with affine_grid + grid_sample so gradients flow back to the perturbation.
// Poisons crafted through it survive the victim's own crop/flip augmentation (Fowl et al., Geiping et al.).
import { F, rand, type Tensor, tensor } from "../torch/index.js";

export interface DiffAugmentOptions {
  /** Largest shift as a fraction of the image side (the authors' 1/4: 8 pixels on 32x32). */
  maxShift: number;
  flip: boolean;
}

export const DEFAULT_DIFF_AUGMENT: DiffAugmentOptions = { maxShift: 0.25, flip: true };

/** One random translation+flip per image of `x` [N,C,H,W]. */
export function diffAugment(x: Tensor, o: DiffAugmentOptions): Tensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  // theta = [[sx, 0, tx], [0, 1, ty]]: sx = -1 flips, t in [-2*maxShift, 2*maxShift] shifts (grid units span 2).
  const r = rand([n, 3]).toTypedArray() as Float32Array;
  const theta = new Float32Array(n * 6);
  for (let i = 0; i < n; i++) {
    const flip = o.flip && r[3 * i]! < 0.5 ? -1 : 1;
    theta[6 * i] = flip;
    theta[6 * i + 2] = (r[3 * i + 1]! * 2 - 1) * 2 * o.maxShift;
    theta[6 * i + 4] = 1;
    theta[6 * i + 5] = (r[3 * i + 2]! * 2 - 1) * 2 * o.maxShift;
  }
  const grid = F.affineGrid(tensor(theta, [n, 2, 3], { device: x.device }), [n, c, h, w], false);
  return F.gridSample(x, grid, { mode: "bilinear", padding: "zeros", alignCorners: false });
}
