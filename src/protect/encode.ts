// Writing a protected photo so that what a reader decodes stays within the budget. PNG and WebP are lossless:
// the decoded pixels are the crafted ones (checked). JPEG is not: re-encoding adds its own error, so the
// decoded pixels are checked against the source and, where they leave the eps ball, the encoder's input is
// nudged back by the overshoot and encoded again; if that does not converge the quality is raised, and at
// quality 100 the perturbation is shrunk by a fifth and tried again. The result records the quality used and how
// much of the crafted perturbation the decoded file still carries. Pixels stay in typed arrays (a 48 MP photo's
// 1.4e8 values are more than a JS array may hold).
import { decodePhoto, encodePhoto, type PhotoFormat } from "./codec.js";
import { linf } from "./quality.js";

export interface EncodedPhoto {
  bytes: Uint8Array;
  /** The pixels a reader decodes, RGB. */
  decoded: Uint8Array;
  /** JPEG only: the quality written. */
  quality?: number;
  /** <decoded - source, crafted - source> / ||crafted - source||^2: 1 when the encoding keeps the perturbation. */
  kept: number;
}

const CORRECTIONS = 6;
const SHRINKS = 8;

function keptFraction(source: Uint8Array, crafted: Uint8Array, decoded: Uint8Array): number {
  let dot = 0;
  let norm = 0;
  for (let i = 0; i < source.length; i++) {
    const p = crafted[i]! - source[i]!;
    dot += (decoded[i]! - source[i]!) * p;
    norm += p * p;
  }
  return norm === 0 ? 1 : dot / norm;
}

/**
 * Encodes `crafted` (RGB, width x height, within eps grey levels of `source`) in `format`; the decoded result
 * is within eps of `source` or this throws.
 */
export async function encodeWithinBudget(
  source: Uint8Array,
  crafted: Uint8Array,
  width: number,
  height: number,
  format: PhotoFormat,
  eps: number,
  o: { jpegQuality: number; alpha?: Uint8Array | undefined; path: string },
): Promise<EncodedPhoto> {
  const encode = async (rgb: Uint8Array, jpegQuality: number) => {
    const bytes = await encodePhoto(rgb, width, height, format, { jpegQuality, alpha: o.alpha });
    const d = await decodePhoto(bytes, o.path);
    // The summary's same_sizes rests on this: no photo is written at another size than its source's.
    if (d.width !== width || d.height !== height)
      throw new Error(`${o.path}: the encoder wrote ${d.width}x${d.height}, not the source's ${width}x${height}`);
    return { bytes, decoded: d.rgb };
  };
  if (format !== "jpeg") {
    const { bytes, decoded } = await encode(crafted, o.jpegQuality);
    if (linf(decoded, crafted) !== 0) throw new Error(`${o.path}: the ${format} encoder was not lossless`);
    return { bytes, decoded, kept: 1 };
  }
  let wanted = crafted;
  for (let shrink = 0; shrink <= SHRINKS; shrink++) {
    for (let quality = o.jpegQuality; quality <= 100; quality = quality < 100 ? Math.min(100, quality + 2) : 101) {
      const input = wanted.slice();
      for (let c = 0; c < CORRECTIONS; c++) {
        const { bytes, decoded } = await encode(input, quality);
        if (linf(decoded, source) <= eps)
          return { bytes, decoded, quality, kept: keptFraction(source, crafted, decoded) };
        // Move the encoder's input against the overshoot of each value that left the ball.
        for (let i = 0; i < input.length; i++) {
          const lo = source[i]! - eps;
          const hi = source[i]! + eps;
          const d = decoded[i]!;
          if (d > hi) input[i] = Math.max(0, input[i]! - (d - hi));
          else if (d < lo) input[i] = Math.min(255, input[i]! + (lo - d));
        }
      }
    }
    wanted = wanted.slice();
    for (let i = 0; i < wanted.length; i++) wanted[i] = source[i]! + Math.trunc(((wanted[i]! - source[i]!) * 4) / 5);
  }
  throw new Error(
    `${o.path}: JPEG re-encoding leaves the eps ${eps} ball even at quality 100 (write PNG, or raise --eps)`,
  );
}
