// How much a protected photo differs from its source, as a data owner judges it: the largest change of any
// channel value (L-inf, grey levels), PSNR over all channels, and SSIM (ssim.js: Wang et al.'s index on
// luminance, with their downsampling of large photos).
import { ssim } from "ssim.js";

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

const rgba = (rgb: Uint8Array, n: number) => {
  const out = new Uint8ClampedArray(4 * n);
  for (let i = 0; i < n; i++) {
    out[4 * i] = rgb[3 * i]!;
    out[4 * i + 1] = rgb[3 * i + 1]!;
    out[4 * i + 2] = rgb[3 * i + 2]!;
    out[4 * i + 3] = 255;
  }
  return out;
};

/** Mean SSIM of two RGB images of width x height. */
export function meanSsim(a: Uint8Array, b: Uint8Array, width: number, height: number): number {
  const n = width * height;
  return ssim({ data: rgba(a, n), width, height }, { data: rgba(b, n), width, height }).mssim;
}
