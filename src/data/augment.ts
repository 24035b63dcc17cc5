// Per-sample augmentation on uint8 H,W,C images in JS, where it costs microseconds: random crop of the
// zero-padded image (torchvision's RandomCrop(size, padding)) followed by a random horizontal flip.
import type { Rng } from "./rng.js";

export interface AugmentOptions {
  /** Zero padding on each side before a random crop back to the original size; 0 or absent: no crop. */
  cropPadding?: number;
  /** Mirror left-right with probability 1/2. */
  flip?: boolean;
}

/** One sample's draw: the crop's top-left corner in the padded image, and whether to mirror. */
export interface AugmentParams {
  readonly padding: number;
  readonly top: number;
  readonly left: number;
  readonly flip: boolean;
}

export const IDENTITY: AugmentParams = { padding: 0, top: 0, left: 0, flip: false };

/** Draws one sample's parameters: corner uniform in [0, 2*padding] squared, flip with probability 1/2. */
export function drawAugmentParams(rng: Rng, options: AugmentOptions): AugmentParams {
  const padding = options.cropPadding ?? 0;
  const top = padding > 0 ? rng.nextInt(2 * padding + 1) : 0;
  const left = padding > 0 ? rng.nextInt(2 * padding + 1) : 0;
  const flip = options.flip === true && rng.nextUint32() < 0x80000000;
  return { padding, top, left, flip };
}

/**
 * Writes the augmented image into `dst` at `dstOffset`: pixel (y, x) of the result is pixel
 * (y + top - padding, x' + left - padding) of `src`, or 0 outside it, where x' mirrors x when flipping.
 */
export function augmentImage(
  src: Uint8Array,
  height: number,
  width: number,
  channels: number,
  params: AugmentParams,
  dst: Uint8Array,
  dstOffset = 0,
): void {
  const dy = params.top - params.padding;
  const dx = params.left - params.padding;
  const rowBytes = width * channels;
  for (let y = 0; y < height; y++) {
    const out = dstOffset + y * rowBytes;
    const sy = y + dy;
    if (sy < 0 || sy >= height) {
      dst.fill(0, out, out + rowBytes);
      continue;
    }
    const srcRow = sy * rowBytes;
    if (!params.flip) {
      // A shifted row: zeros, then a contiguous run of the source row, then zeros.
      const x0 = Math.min(width, Math.max(0, -dx));
      const x1 = Math.max(x0, Math.min(width, width - dx));
      dst.fill(0, out, out + x0 * channels);
      if (x1 > x0)
        dst.set(src.subarray(srcRow + (x0 + dx) * channels, srcRow + (x1 + dx) * channels), out + x0 * channels);
      dst.fill(0, out + x1 * channels, out + rowBytes);
      continue;
    }
    for (let x = 0; x < width; x++) {
      const sx = width - 1 - x + dx;
      const o = out + x * channels;
      if (sx < 0 || sx >= width) for (let c = 0; c < channels; c++) dst[o + c] = 0;
      else for (let c = 0; c < channels; c++) dst[o + c] = src[srcRow + sx * channels + c]!;
    }
  }
}
