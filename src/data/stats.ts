// Per-channel statistics of a dataset's pixels, in [0, 1] units (v / 255), as torchvision's ToTensor gives them.
import { type Dataset, imageBlocks } from "./dataset.js";

/**
 * The mean of every channel over all images and pixels: the authors' `data_mean` (the colour that their
 * normalisation maps to zero, and so the padding colour of their differentiable augmentation).
 */
export function channelMeans(ds: Dataset): number[] {
  const c = ds.channels;
  const sums = new Float64Array(c);
  // N,H,W,C layout: channel k holds bytes k, k + C, k + 2C, ... (every block starts at an image, so at
  // channel 0). Integer sums, exact in float64: the same whatever the blocks.
  for (const [, images] of imageBlocks(ds)) for (let i = 0; i < images.length; i++) sums[i % c]! += images[i]!;
  const perChannel = ds.count * ds.height * ds.width;
  return Array.from(sums, (s) => (perChannel === 0 ? Number.NaN : s / perChannel / 255));
}
