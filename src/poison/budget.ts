// The perturbation budget: eps in grey levels (x/255, as the paper states it), the checks on it, and the
// conversions between the attack's pixel units ([0, 1] images, N,C,H,W) and released grey levels (N,H,W,C).
import { scope, type Tensor } from "../torch/index.js";

/** Largest eps accepted, in grey levels: beyond this a "poison" is just a different image. */
export const MAX_EPS = 64;

/**
 * How a method's perturbation is bounded. "linf": every value within eps grey levels (the paper's budget);
 * "l2": the image's change within the L2 ball of the same RMS, eps * sqrt(values) (Yu et al.'s scaling for
 * LSP); "l0": one pixel per image at any value (Wu et al.'s one-pixel shortcut), so its L-inf is 255 by design.
 */
export type BudgetNorm = "linf" | "l2" | "l0";

/** The eps a plan records: an L0 budget bounds a pixel's values only by [0, 255]. */
export function planEps(norm: BudgetNorm, eps: number): number {
  return norm === "l0" ? 255 : eps;
}

/** Grey levels one released value may move from its source: eps under L-inf; [0, 255] alone under L2 and L0. */
export function valueBound(norm: BudgetNorm, eps: number): number {
  return norm === "linf" ? eps : 255;
}

/** The L2 radius (in eps's units) of eps for images of `values` values: the ball whose RMS change is eps. */
export function l2Radius(eps: number, values: number): number {
  return eps * Math.sqrt(values);
}

/** How many pixels (positions, any channel) of each `pixels`-pixel, `channels`-channel image differ. */
export function changedPixels(source: Uint8Array, released: Uint8Array, pixels: number, channels: number): Int32Array {
  const size = pixels * channels;
  const out = new Int32Array(source.length / size);
  for (let i = 0; i < source.length; i += channels) {
    for (let k = 0; k < channels; k++) {
      if (source[i + k] !== released[i + k]) {
        out[Math.floor(i / size)]!++;
        break;
      }
    }
  }
  return out;
}

export function checkEps(eps: number): number {
  if (!Number.isFinite(eps) || eps <= 0 || eps > MAX_EPS) {
    throw new RangeError(`eps must be in (0, ${MAX_EPS}] grey levels (e.g. 8 for 8/255), got ${eps}`);
  }
  return eps;
}

/** The plan's eps and PGD step (grey levels) in pixel units, as the attacks take them: the one conversion. */
export function pixelUnits(plan: { eps: number; stepSize: number }): { eps: number; stepSize: number } {
  return { eps: plan.eps / 255, stepSize: plan.stepSize / 255 };
}

/** [N,C,H,W] pixel-unit perturbation -> N,H,W,C grey levels, the layout of the uint8 images. */
export function toGreyLevelsNHWC(delta: Tensor): Float32Array {
  return scope(() => delta.permute(0, 2, 3, 1).contiguous().mul(255).toTypedArray() as Float32Array);
}

/** Grey levels a released uint8 pixel may differ from its source: rounding must not exceed eps. */
export function levelsOf(eps: number): number {
  return Math.floor(eps + 1e-9);
}

/**
 * Released pixels: round(source + delta) per pixel, then clipped to within floor(eps) grey levels of the
 * source and to [0, 255]. `delta255` holds the perturbation in grey levels, in the source's N,H,W,C order.
 * A non-finite value (NaN or Infinity, from a diverged gradient) is an error naming its position: clipping
 * would silently turn NaN into pixel 0.
 */
export function quantize(source: Uint8Array, delta255: Float32Array, eps: number): Uint8Array {
  if (source.length !== delta255.length) {
    throw new RangeError(`quantize: ${source.length} pixels but ${delta255.length} perturbation values`);
  }
  const out = new Uint8Array(source.length);
  for (let i = 0; i < source.length; i++) {
    const d = delta255[i]!;
    if (!Number.isFinite(d)) throw new RangeError(`quantize: non-finite perturbation ${d} at value ${i}`);
    out[i] = Math.min(Math.max(Math.round(source[i]! + d), 0), 255);
  }
  return clipToBall(source, out, eps);
}

/**
 * Rounded pixels clipped, in place, to within floor(eps) grey levels of their source: rounding may leave the
 * ball by half a level. Returns `released`. protect rounds on the device and clips here, since a float copy of a
 * 48 MP photo's perturbation (what quantize takes) would not fit beside it.
 */
export function clipToBall(source: Uint8Array, released: Uint8Array, eps: number): Uint8Array {
  const levels = levelsOf(eps);
  for (let i = 0; i < source.length; i++) {
    const s = source[i]!;
    released[i] = Math.min(Math.max(released[i]!, s - levels), s + levels);
  }
  return released;
}

/** L-inf and L2 of the released change of each image, in grey levels. */
export function perturbationNorms(
  source: Uint8Array,
  released: Uint8Array,
  imageSize: number,
): { linf: Float32Array; l2: Float32Array } {
  const n = source.length / imageSize;
  const linf = new Float32Array(n);
  const l2 = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    let m = 0;
    let s = 0;
    for (let i = k * imageSize; i < (k + 1) * imageSize; i++) {
      const d = Math.abs(released[i]! - source[i]!);
      if (d > m) m = d;
      s += d * d;
    }
    linf[k] = m;
    l2[k] = Math.sqrt(s);
  }
  return { linf, l2 };
}
