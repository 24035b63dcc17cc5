// JPEG re-encoding: every training image is encoded at `quality` and decoded again (jpeg-js), which removes
// much of the high-frequency content that small perturbations live in. Grey images are encoded as RGB with
// equal channels and read back as the mean of the decoded channels.
//
// jpeg-js builds its tables anew on every encode() call (~25 ms), far more than encoding a 28x28 image, so
// a batch is encoded as one mosaic: each image in its own cell of 8-pixel multiples, padded by repeating
// its edge pixels as the encoder pads a lone image. jpeg-js codes every channel in 8x8 blocks without
// chroma subsampling, and a block's decoded pixels depend only on its own coefficients, so each cell
// decodes to exactly what encoding the image alone would give (test/experiment/defenses.test.ts checks it).
import jpeg from "jpeg-js";
import { type Tensor, tensor } from "../../torch/index.js";

/** ISS's JPEG-10 (Liu et al. 2023; APBench's JPEG defence): the quality of the `jpeg10` defence. */
export const JPEG10_QUALITY = 10;

export interface JpegOptions {
  /** 1..100, as libjpeg's quality. */
  quality: number;
}

/** Re-encodes [B, C, H, W] float pixels in [0, 1] (C = 1 or 3) through JPEG; same layout out. */
export function jpegRoundTrip(pixels: Float32Array, shape: readonly number[], quality: number): Float32Array {
  const [b, c, h, w] = shape as [number, number, number, number];
  if (c !== 1 && c !== 3) throw new RangeError(`jpeg: images must have 1 or 3 channels, got ${c}`);
  const out = new Float32Array(pixels.length);
  if (b === 0) return out;
  const plane = h * w;
  const cellH = Math.ceil(h / 8) * 8;
  const cellW = Math.ceil(w / 8) * 8;
  const cols = Math.max(1, Math.min(b, Math.floor(4096 / cellW)));
  const rows = Math.ceil(b / cols);
  const width = cols * cellW;
  const height = rows * cellH;
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < b; i++) {
    const base = i * c * plane;
    const y0 = Math.floor(i / cols) * cellH;
    const x0 = (i % cols) * cellW;
    for (let y = 0; y < cellH; y++) {
      const sy = Math.min(y, h - 1);
      for (let x = 0; x < cellW; x++) {
        const sx = Math.min(x, w - 1);
        const o = ((y0 + y) * width + x0 + x) * 4;
        for (let k = 0; k < 3; k++) {
          const v = pixels[base + (c === 3 ? k : 0) * plane + sy * w + sx]!;
          rgba[o + k] = Math.round(Math.min(1, Math.max(0, v)) * 255);
        }
        rgba[o + 3] = 255;
      }
    }
  }
  const encoded = jpeg.encode({ data: rgba, width, height }, quality);
  const d = jpeg.decode(encoded.data, { useTArray: true, formatAsRGBA: true }).data;
  for (let i = 0; i < b; i++) {
    const base = i * c * plane;
    const y0 = Math.floor(i / cols) * cellH;
    const x0 = (i % cols) * cellW;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const o = ((y0 + y) * width + x0 + x) * 4;
        const p = y * w + x;
        if (c === 3) for (let k = 0; k < 3; k++) out[base + k * plane + p] = d[o + k]! / 255;
        else out[base + p] = (d[o]! + d[o + 1]! + d[o + 2]!) / (3 * 255);
      }
    }
  }
  return out;
}

/** The re-encoding as a function of images ([B, C, H, W] in [0, 1]), the same at every step. */
export function jpegImages(o: JpegOptions): (x: Tensor) => Tensor {
  if (!(Number.isInteger(o.quality) && o.quality >= 1 && o.quality <= 100))
    throw new RangeError(`jpeg: quality must be an integer in 1..100, got ${o.quality}`);
  return (x) => {
    const pixels = x.contiguous().toTypedArray() as Float32Array;
    return tensor(jpegRoundTrip(pixels, x.shape, o.quality), x.shape, { device: x.device });
  };
}
