// How much a protected photo differs from its source, as a data owner judges it: the largest change of any
// channel value (L-inf, grey levels), PSNR over all channels, and SSIM (ssim.js: Weber's linear-time form of
// Wang et al.'s index on luminance, after their downsampling of large photos). Everything runs on typed arrays:
// a 48 MP photo has 1.4e8 channel values, more than a JS array may hold.
import { getOptions } from "ssim.js";
import { weberSsim } from "ssim.js/dist/weberSsim.js";

export function linf(a: Uint8Array, b: Uint8Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (d > m) m = d;
  }
  return m;
}

/** Peak signal-to-noise ratio in dB (Infinity for identical images). */
export function psnr(a: Uint8Array, b: Uint8Array): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i]! - b[i]!) ** 2;
  return se === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / (se / a.length));
}

/** ssim.js's defaults (11-px windows, k1 0.01, k2 0.03, 8 bits, shorter side brought to about 256). */
const SSIM = getOptions();

/** Luminance of RGB pixels, ssim.js's integer rgb2gray. */
function grey(rgb: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (77 * rgb[3 * i]! + 150 * rgb[3 * i + 1]! + 29 * rgb[3 * i + 2]! + 128) >> 8;
  return out;
}

/**
 * Wang et al.'s downsampling, exactly as ssim.js's "original" mode does it (an f x f box mean over mirrored
 * edges, then every f-th pixel from the first; f = round(shorter side / 256)), but reading each pixel once from
 * a typed array: ssim.js pads, filters and copies the whole photo in JS arrays, which a 48 MP photo overflows.
 * The box sums are sums of integers (exact), times ssim.js's weight 1/f^2, so the values are its own to the bit.
 */
function downsample(g: Uint8Array, width: number, height: number) {
  const f = Math.round(Math.min(width, height) / (SSIM.maxSize ?? 256));
  if (f <= 1) return { data: g, width, height };
  const half = Math.floor(f / 2);
  const mirror = (i: number, n: number) => (i < 0 ? -i - 1 : i >= n ? 2 * n - i - 1 : i);
  const w = Math.ceil(width / f);
  const h = Math.ceil(height / f);
  const weight = 1 / (f * f);
  const columns = new Float64Array(width);
  const data = new Array<number>(w * h);
  for (let i = 0; i < h; i++) {
    columns.fill(0);
    for (let k = 0; k < f; k++) {
      const row = mirror(i * f - half + k, height) * width;
      for (let x = 0; x < width; x++) columns[x]! += g[row + x]!;
    }
    for (let j = 0; j < w; j++) {
      let sum = 0;
      for (let k = 0; k < f; k++) sum += columns[mirror(j * f - half + k, width)]!;
      data[i * w + j] = sum * weight;
    }
  }
  return { data, width: w, height: h };
}

/** Mean SSIM of two RGB images of width x height. */
export function meanSsim(a: Uint8Array, b: Uint8Array, width: number, height: number): number {
  const n = width * height;
  return weberSsim(downsample(grey(a, n), width, height), downsample(grey(b, n), width, height), SSIM).mssim;
}
