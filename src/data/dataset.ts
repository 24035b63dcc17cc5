// The in-memory dataset: every image as uint8 in one N,H,W,C buffer, labels as Int32Array, and a record of
// where it came from so it can be written back in its own format.
import { DatasetError } from "./errors.js";

/** Integer npy dtypes accepted for labels (little-endian or byte-order-free), kept to write labels back unchanged. */
export type NpyLabelDescr = "|u1" | "<u1" | "|i1" | "<i2" | "<u2" | "<i4" | "<u4" | "<i8" | "<u8";

export type Split = "train" | "test";

/** Where a dataset was read from; writers use it to reproduce the original layout. */
export type Source =
  | {
      readonly format: "idx";
      /** Whether the files were gzip-compressed (detected by magic bytes, not by name). */
      readonly gzip: boolean;
      readonly imagesFile: string;
      readonly labelsFile: string;
    }
  | {
      readonly format: "cifar10";
      /** Records per batch file, in order (five of 10000 for the CIFAR-10 training set). */
      readonly batchSizes: readonly number[];
      readonly metaFile: string | undefined;
    }
  | {
      readonly format: "cifar100";
      readonly file: string;
      /** Which label byte `labels` holds; the other one is kept so a write loses nothing. */
      readonly labelKind: "fine" | "coarse";
      readonly otherLabels: Uint8Array;
      readonly otherClassNames: readonly string[];
    }
  | {
      readonly format: "folder";
      /** The split's root directory (holding one directory per class). */
      readonly root: string;
      /** Each image's file name inside its class directory. */
      readonly fileNames: readonly string[];
    }
  | {
      readonly format: "npy";
      readonly imagesFile: string;
      readonly labelsFile: string;
      /** The labels' npy dtype, written back unchanged. */
      readonly labelDescr: NpyLabelDescr;
      /** 3 for N,H,W arrays, 4 for N,H,W,C. */
      readonly imagesNdim: 3 | 4;
    };

export type DatasetFormat = Source["format"];

export interface Dataset {
  /** count*height*width*channels bytes, row-major N,H,W,C. Treat as read-only: it may view a file buffer. */
  readonly images: Uint8Array;
  readonly labels: Int32Array;
  readonly count: number;
  readonly height: number;
  readonly width: number;
  /** 1 (grayscale) or 3 (RGB). */
  readonly channels: number;
  readonly numClasses: number;
  readonly classNames: readonly string[];
  readonly source: Source;
}

/** The bytes of one image (a view, not a copy). */
export function imageBytes(ds: Dataset, index: number): Uint8Array {
  const size = ds.height * ds.width * ds.channels;
  return ds.images.subarray(index * size, (index + 1) * size);
}

/**
 * The first `n` images and labels. Deterministic on purpose: every command that names the same subset
 * (poisoning, training, evaluation) then sees the same images.
 */
export function subset(ds: Dataset, n: number): Dataset {
  if (!Number.isInteger(n) || n < 0) throw new DatasetError(`subset size must be a non-negative integer, got ${n}`);
  if (n > ds.count) throw new DatasetError(`subset of ${n} images asked for, but the dataset has only ${ds.count}`);
  if (n === ds.count) return ds;
  const size = ds.height * ds.width * ds.channels;
  return {
    ...ds,
    images: ds.images.subarray(0, n * size),
    labels: ds.labels.subarray(0, n),
    count: n,
    source: subsetSource(ds.source, n),
  };
}

function subsetSource(source: Source, n: number): Source {
  switch (source.format) {
    case "cifar100":
      return { ...source, otherLabels: source.otherLabels.subarray(0, n) };
    case "folder":
      return { ...source, fileNames: source.fileNames.slice(0, n) };
    default:
      return source;
  }
}

/** Checks the invariants every reader promises, naming `where` (a file or directory) in the error. */
export function checkDataset(ds: Dataset, where: string): Dataset {
  const { count, height, width, channels } = ds;
  if (channels !== 1 && channels !== 3) {
    throw new DatasetError(`images must have 1 or 3 channels, found ${channels}`, where);
  }
  if (ds.images.length !== count * height * width * channels) {
    throw new DatasetError(
      `holds ${ds.images.length} image bytes, expected ${count}x${height}x${width}x${channels} = ${count * height * width * channels}`,
      where,
    );
  }
  if (ds.labels.length !== count) {
    throw new DatasetError(`image/label count mismatch: ${count} images but ${ds.labels.length} labels`, where);
  }
  if (ds.classNames.length !== ds.numClasses) {
    throw new DatasetError(`${ds.numClasses} classes but ${ds.classNames.length} class names`, where);
  }
  checkLabels(ds.labels, ds.numClasses, where);
  return ds;
}

/** Throws naming the first label outside [0, numClasses). */
function checkLabels(labels: ArrayLike<number>, numClasses: number, where: string): void {
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    if (label < 0 || label >= numClasses) {
      throw new DatasetError(
        `label out of range: sample ${i} has label ${label}, expected 0..${numClasses - 1}`,
        where,
      );
    }
  }
}

/** "0", "1", ... for datasets that ship no class names. */
export function numberedClassNames(numClasses: number): string[] {
  return Array.from({ length: numClasses }, (_, i) => String(i));
}
