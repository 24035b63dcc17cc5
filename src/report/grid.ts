// The image grid: for a few training images per class, the clean image, its poisoned version, and the
// perturbation amplified so that it spans the grey range (mid-grey = no change).
import { type Dataset, imageBytes } from "../data/dataset.js";
import { encodePng } from "../data/image.js";
import type { EmbeddedImage, GridExample, ImageGrid } from "./types.js";

export interface GridOptions {
  /** Candidate images, in order of preference (e.g. a manifest's poisoned_indices); default: every image
   * that differs between the two datasets, in index order. */
  indices?: readonly number[];
  title?: string;
}

/** An H,W,C uint8 image as an embedded PNG. */
export function embedImage(pixels: Uint8Array, height: number, width: number, channels: number): EmbeddedImage {
  const png = encodePng(pixels, height, width, channels);
  return { width, height, png: Buffer.from(png.buffer, png.byteOffset, png.byteLength).toString("base64") };
}

/**
 * Up to `perClass` examples per class, taken from `indices` (default: the images `release` changed). All
 * perturbations share one amplification, the largest that keeps every shown one inside 0..255, so their
 * strengths compare across the grid.
 */
export function perturbationGrid(source: Dataset, release: Dataset, perClass = 4, o: GridOptions = {}): ImageGrid {
  const { height, width, channels } = source;
  if (release.count !== source.count || release.height !== height || release.width !== width) {
    throw new Error(
      `the release (${release.count}x${release.height}x${release.width}) does not match its source (${source.count}x${height}x${width})`,
    );
  }
  if (release.channels !== channels) {
    throw new Error(`the release has ${release.channels} channels, its source ${channels}`);
  }
  if (!Number.isInteger(perClass) || perClass < 1)
    throw new Error(`perClass must be a positive integer, got ${perClass}`);
  const candidates = o.indices ?? changedIndices(source, release);
  const chosen: number[][] = Array.from({ length: source.numClasses }, () => []);
  for (const i of candidates) {
    if (!Number.isInteger(i) || i < 0 || i >= source.count) {
      throw new Error(`image index ${i} is outside the dataset (0..${source.count - 1})`);
    }
    const row = chosen[source.labels[i]!]!;
    if (row.length < perClass && !row.includes(i)) row.push(i);
  }

  let maxAbs = 0;
  for (const row of chosen) {
    for (const i of row) {
      const a = imageBytes(source, i);
      const b = imageBytes(release, i);
      for (let p = 0; p < a.length; p++) maxAbs = Math.max(maxAbs, Math.abs(b[p]! - a[p]!));
    }
  }
  // 127 / maxAbs, rounded down to a readable factor (integers, or tenths below 2).
  const raw = maxAbs === 0 ? 1 : 127 / maxAbs;
  const amplification = raw >= 2 ? Math.floor(raw) : Math.max(0.1, Math.floor(raw * 10) / 10);

  const rows = chosen.map((row, label) => ({
    label,
    className: source.classNames[label] ?? String(label),
    examples: row.map((i): GridExample => {
      const a = imageBytes(source, i);
      const b = imageBytes(release, i);
      const delta = new Uint8Array(a.length);
      let linf = 0;
      for (let p = 0; p < a.length; p++) {
        const d = b[p]! - a[p]!;
        linf = Math.max(linf, Math.abs(d));
        delta[p] = Math.min(255, Math.max(0, Math.round(128 + d * amplification)));
      }
      return {
        index: i,
        clean: embedImage(a, height, width, channels),
        poisoned: embedImage(b, height, width, channels),
        perturbation: embedImage(delta, height, width, channels),
        linf,
      };
    }),
  }));
  return {
    title: o.title ?? "Clean, poisoned and amplified perturbation",
    classNames: [...source.classNames],
    amplification,
    rows,
  };
}

function changedIndices(source: Dataset, release: Dataset): number[] {
  const out: number[] = [];
  for (let i = 0; i < source.count; i++) {
    const a = imageBytes(source, i);
    const b = imageBytes(release, i);
    if (!Buffer.from(a.buffer, a.byteOffset, a.length).equals(b)) out.push(i);
  }
  return out;
}
