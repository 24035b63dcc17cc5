// Per-channel statistics of a dataset's pixels, in [0, 1] units (v / 255), as torchvision's ToTensor gives them.
import type { Dataset } from "./dataset.js";

/**
 * The mean of every channel over all images and pixels: the authors' `data_mean` (the colour that their
 * normalisation maps to zero, and so the padding colour of their differentiable augmentation).
 */
export function channelMeans(ds: Dataset): number[] {
  const c = ds.channels;
  const sums = new Float64Array(c);
  const { images } = ds;
  // N,H,W,C layout: channel k holds bytes k, k + C, k + 2C, ...
  for (let i = 0; i < images.length; i++) sums[i % c]! += images[i]!;
  const perChannel = images.length / c;
  return Array.from(sums, (s) => (perChannel === 0 ? Number.NaN : s / perChannel / 255));
}
