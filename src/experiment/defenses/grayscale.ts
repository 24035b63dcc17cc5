// Grayscale: RGB images become their luminance (ITU-R 601, as torchvision's Grayscale) in all three
// channels, discarding colour perturbations. Images with one channel are grey already: it changes nothing
// there, and the experiment skips it (saying so) instead of training an identical victim.
import type { Tensor } from "../../torch/index.js";

/** Why grayscale is skipped on `channels`-channel data, or null when it applies. */
export function grayscaleSkipReason(channels: number): string | null {
  return channels === 1 ? "the images have one channel already, so grayscale would change nothing" : null;
}

/** Luminance in every channel of [B, C, H, W] images; grey images unchanged. */
export function toGrayscale(x: Tensor): Tensor {
  if (x.size(1) === 1) return x;
  const lum = x.select(1, 0).mul(0.299).add(x.select(1, 1).mul(0.587)).add(x.select(1, 2).mul(0.114)).unsqueeze(1);
  return lum.expand(x.size(0), 3, x.size(2), x.size(3)).contiguous();
}
