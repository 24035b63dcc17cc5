// A class code in the only part of a perturbation that posterizing keeps. Bit-depth reduction to b bits (the
// "image shortcut squeezing" defence, Liu et al. 2023) maps each value to its band between multiples of
// 2^(8-b): a perturbation survives it only where it moves a value across one of those thresholds, and where the
// bands are wider than eps (2 and 3 bits at eps 16) each value can cross at most one, in the one direction the
// clean value sets (results/posterize-reach.json:
// 18.4 % of Fashion-MNIST's values are within 16 grey levels of a 2-bit threshold). Adversarial poisons leave
// which values cross to chance, and 2-bit posterizing passes 6-8 % of their changes, which victims ignore.
//
// Here class c owns a sign per patch (distinct per class, drawn from the plan's seed), and every value takes
// its patch's direction: a value whose threshold in that direction is within eps crosses it; any other value
// stays on its side of the threshold behind it. Posterized to b bits (or fewer: their thresholds are among
// these), a class's images are their clean posterized selves moved one band up in the class's + patches and one
// band down in its - patches wherever a value could reach: one pattern per class, like the class-wise shortcuts
// victims learn first (LSP, Yu et al. 2022), carried by crossings. The attack's own perturbation spends the
// freedom left inside these bounds.
import { Rng } from "../data/index.js";
import { type Tensor, tensor } from "../torch/index.js";
import { distinctSigns } from "./class-signs.js";

export interface CrossingCode {
  /** The posterizing depth whose thresholds (multiples of 2^(8 - bits)) the code crosses. */
  bits: number;
  /** Side of one patch in pixels: one sign per patch and channel. */
  patchSize: number;
}

/** The Rng stream of the code's class signs, apart from every other use of the plan's seed. */
const SIGN_STREAM = 0xc0de;

/** Per image, channel and pixel of [N, C, H, W], its class's sign (+1 up, -1 down), NCHW order. */
export function codeSigns(
  labels: Int32Array,
  shape: readonly number[],
  classes: number,
  patchSize: number,
  seed: number,
): Int8Array {
  const [n, ch, h, w] = shape as [number, number, number, number];
  const rows = Math.ceil(h / patchSize);
  const cols = Math.ceil(w / patchSize);
  const features = rows * cols * ch;
  const signs = distinctSigns(new Rng(seed, SIGN_STREAM), classes, features, "crossing code");
  const out = new Int8Array(n * ch * h * w);
  let i = 0;
  for (let b = 0; b < n; b++) {
    const row = labels[b]! * features;
    for (let k = 0; k < ch; k++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++)
          out[i++] = signs[row + (Math.floor(y / patchSize) * cols + Math.floor(x / patchSize)) * ch + k]!;
  }
  return out;
}

/**
 * The interval [lo, hi] (grey levels, added to `value`) in which the value lands on the `sign` side of every
 * threshold of `bits` bits within `levels` of it: past the next threshold in that direction where it can reach
 * it, else not back across the one behind it. Always within [-levels, levels] and [0, 255].
 */
export function crossingInterval(value: number, sign: number, bits: number, levels: number): [number, number] {
  const band = 2 ** (8 - bits);
  const below = Math.floor(value / band) * band; // the threshold at or below (0: none)
  const above = below + band; // the next one up (256: none)
  const up = above < 256 && above - value <= levels;
  const down = below > 0 && value - (below - 1) <= levels;
  let lo = Math.max(-levels, 0 - value); // 0 - value: no -0 at black
  let hi = Math.min(levels, 255 - value);
  if (sign > 0) {
    if (up) lo = above - value;
    else if (down) lo = below - value;
  } else {
    if (down) hi = below - 1 - value;
    else if (up) hi = above - 1 - value;
  }
  return [lo, hi];
}

/**
 * The code's bounds on the perturbation of `x` ([N, C, H, W] in [0, 1], labels `labels`), in pixel units on x's
 * device: a perturbation inside them posterizes to the code (see the header). `levels` is the whole release's
 * budget in grey levels.
 */
export function crossingBox(
  x: Tensor,
  labels: Int32Array,
  classes: number,
  code: CrossingCode,
  levels: number,
  seed: number,
): { lo: Tensor; hi: Tensor } {
  const pixels = x.toTypedArray() as Float32Array;
  const signs = codeSigns(labels, x.shape, classes, code.patchSize, seed);
  // An interval depends only on the grey level and the direction: 2 x 256 of them, looked up per value.
  const intervals = (sign: number) =>
    Array.from({ length: 256 }, (_, value) => crossingInterval(value, sign, code.bits, levels));
  const up = intervals(1);
  const down = intervals(-1);
  const lo = new Float32Array(pixels.length);
  const hi = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) {
    const [l, h] = (signs[i]! > 0 ? up : down)[Math.round(pixels[i]! * 255)]!;
    lo[i] = l / 255;
    hi[i] = h / 255;
  }
  const on = { device: x.device };
  return { lo: tensor(lo, x.shape, on), hi: tensor(hi, x.shape, on) };
}
