// Cutout (DeVries & Taylor 2017): each image gets a square of zeros, its centre uniform over the image and
// the square clipped at the borders, so near an edge less than a full square is cut.

import type { Rng } from "../../data/index.js";
import { tensor } from "../../torch/index.js";
import { type BatchTransform, stepRng } from "./types.js";

export interface CutoutOptions {
  /** Side of the square as a fraction of the image's shorter side (0.5: 14 of 28 px, 16 of 32). */
  fraction: number;
}

/** The cut rows [top, bottom) and columns [left, right) for a centre drawn from `rng`. */
export function cutoutBox(
  rng: Rng,
  height: number,
  width: number,
  side: number,
): { top: number; bottom: number; left: number; right: number } {
  const cy = rng.nextInt(height);
  const cx = rng.nextInt(width);
  const half = Math.floor(side / 2);
  return {
    top: Math.max(0, cy - half),
    bottom: Math.min(height, cy - half + side),
    left: Math.max(0, cx - half),
    right: Math.min(width, cx - half + side),
  };
}

export function cutout(o: CutoutOptions, seed: number): BatchTransform {
  if (!(o.fraction > 0 && o.fraction <= 1))
    throw new RangeError(`cutout: fraction must be in (0, 1], got ${o.fraction}`);
  return ({ x }, step) => {
    const [b, , h, w] = x.shape as [number, number, number, number];
    const side = Math.max(1, Math.round(o.fraction * Math.min(h, w)));
    const rng = stepRng(seed, step);
    const mask = new Float32Array(b * h * w).fill(1);
    for (let i = 0; i < b; i++) {
      const box = cutoutBox(rng, h, w, side);
      for (let r = box.top; r < box.bottom; r++)
        mask.fill(0, i * h * w + r * w + box.left, i * h * w + r * w + box.right);
    }
    return { x: x.mul(tensor(mask, [b, 1, h, w], { device: x.device })) };
  };
}
