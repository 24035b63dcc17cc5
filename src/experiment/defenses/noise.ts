// Gaussian noise: x + N(0, sigma^2) per pixel, clipped to [0, 1]; sigma in grey levels (16 = 16/255).
// Drawn from libtorch's generator, which the trainer seeds every epoch.
import { randn } from "../../torch/index.js";
import type { BatchTransform } from "./types.js";

export interface NoiseOptions {
  sigma: number;
}

export function gaussianNoise(o: NoiseOptions): BatchTransform {
  if (!(o.sigma >= 0)) throw new RangeError(`noise: sigma must be non-negative, got ${o.sigma}`);
  return ({ x }) => ({
    x: randn(x.shape, { device: x.device })
      .mul_(o.sigma / 255)
      .add_(x)
      .clamp_(0, 1),
  });
}
