// Bit-depth reduction (BDR), one of Image Shortcut Squeezing's compressions (Liu, Zhao & Larson, ICML 2023):
// every value keeps only its `bits` highest bits, as torchvision's posterize (RandomPosterize(bits, p=1) is
// what ISS's augmentations.py and APBench's util.py apply; APBench fixes bits = 2, the default here), so 8-bit
// value g becomes g & ~(2^(8 - bits) - 1): 2^bits levels, 0, 64, 128 and 192 for 2 bits.
import type { Tensor } from "../../torch/index.js";

export interface BdrOptions {
  /** Bits kept per value, 1..8 (8 changes nothing). */
  bits: number;
}

/** The reduction as a function of images ([B, C, H, W] in [0, 1]), the same at every step. */
export function posterize(o: BdrOptions): (x: Tensor) => Tensor {
  if (!(Number.isInteger(o.bits) && o.bits >= 1 && o.bits <= 8))
    throw new RangeError(`bdr: bits must be an integer in 1..8, got ${o.bits}`);
  const step = 2 ** (8 - o.bits);
  // The victims' pixels are 8-bit values / 255: round back to the value, drop the low bits, scale again.
  return (x) => x.clamp(0, 1).mul(255).round().div(step).floor().mul(step).div(255);
}
