// A dataset: labels as Int32Array, a record of where it came from (so it can be written back in its own
// format) and its uint8 N,H,W,C images, either all in one buffer (in-memory formats: IDX, CIFAR, npy) or read
// on demand from an ImageStore (streamed: folder trees, decoded a few files at a time). Callers read pixels
// through readImages / readRange / imageBytes / imageBlocks, which work for both.
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

/**
 * Where a streamed dataset's images come from: `read` returns the N,H,W,C bytes of the images at `indices`
 * (each in 0..count-1 of the dataset it was made for; repeats allowed), in that order, in a new buffer.
 */
export interface ImageStore {
  read(indices: ArrayLike<number>): Uint8Array;
}

export interface Dataset {
  /**
   * In-memory datasets: count*height*width*channels bytes, row-major N,H,W,C. Treat as read-only: it may view
   * a file buffer. Undefined for a streamed dataset (`store`); read pixels with readImages and its kin.
   */
  readonly images: Uint8Array | undefined;
  /** Streamed datasets: reads images by index (`images` is undefined then). */
  readonly store?: ImageStore;
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

/** How many images a whole-set pass over a streamed dataset reads at a time (imageBlocks). */
export const STREAM_BLOCK = 256;

export const imageSizeOf = (ds: Pick<Dataset, "height" | "width" | "channels">): number =>
  ds.height * ds.width * ds.channels;

/** Whether the dataset's images are read on demand (a store) rather than held in memory. */
export const isStreamed = (ds: Dataset): boolean => ds.images === undefined;

function storeOf(ds: Dataset): ImageStore {
  if (!ds.store) throw new DatasetError("dataset has neither images in memory nor an image store");
  return ds.store;
}

function checkIndex(ds: Dataset, i: number): void {
  if (!(Number.isInteger(i) && i >= 0 && i < ds.count))
    throw new DatasetError(`sample index ${i} out of range 0..${ds.count - 1}`);
}

/** The bytes of one image: a view of an in-memory dataset's buffer, a fresh copy of a streamed one's. */
export function imageBytes(ds: Dataset, index: number): Uint8Array {
  return readRange(ds, index, index + 1);
}

/** Images start..end-1, N,H,W,C: a view for an in-memory dataset (do not write to it), read for a streamed one. */
export function readRange(ds: Dataset, start: number, end: number): Uint8Array {
  if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= ds.count))
    throw new DatasetError(`image range ${start}..${end} outside 0..${ds.count}`);
  const size = imageSizeOf(ds);
  if (ds.images) return ds.images.subarray(start * size, end * size);
  return storeOf(ds).read(Int32Array.from({ length: end - start }, (_, k) => start + k));
}

/** The images at `indices`, N,H,W,C in that order, in a new buffer. */
export function readImages(ds: Dataset, indices: ArrayLike<number>): Uint8Array {
  for (let b = 0; b < indices.length; b++) checkIndex(ds, indices[b]!);
  if (!ds.images) return storeOf(ds).read(indices);
  const size = imageSizeOf(ds);
  const out = new Uint8Array(indices.length * size);
  for (let b = 0; b < indices.length; b++) {
    const i = indices[b]!;
    out.set(ds.images.subarray(i * size, (i + 1) * size), b * size);
  }
  return out;
}

/**
 * Every image in order, `block` at a time: [start, bytes of images start..start+n-1]. One view of the buffer
 * for an in-memory dataset; a streamed one is read block by block, so a whole-set pass holds one block.
 */
export function* imageBlocks(ds: Dataset, block = STREAM_BLOCK): Generator<[number, Uint8Array]> {
  if (ds.images) {
    yield [0, ds.images];
    return;
  }
  for (let start = 0; start < ds.count; start += block)
    yield [start, readRange(ds, start, Math.min(ds.count, start + block))];
}

/** The dataset with every image in memory: itself if it is already, else all its images read. */
export function inMemory(ds: Dataset): Dataset {
  if (ds.images) return ds;
  const { store: _, ...rest } = ds;
  return { ...rest, images: readRange(ds, 0, ds.count) };
}

/**
 * A store whose image i is image `map[i]` of `inner`: a reordering or selection of another dataset's images,
 * nothing read up front.
 */
export function mappedStore(inner: Dataset, map: ArrayLike<number>): ImageStore {
  return {
    read: (indices) =>
      readImages(
        inner,
        Array.from(indices, (i) => map[i]!),
      ),
  };
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
    // A store reads by index, and the first n indices are the same images: it serves the subset as it is.
    images: ds.images?.subarray(0, n * size),
    labels: ds.labels.subarray(0, n),
    count: n,
    source: subsetSource(ds.source, n),
  };
}

/**
 * The images and labels at `indices`, in that order (an in-memory dataset's copied, a streamed one's read on
 * demand): e.g. the two interleaved halves of a test split, one to choose an epoch on and one to score it.
 */
export function select(ds: Dataset, indices: readonly number[]): Dataset {
  for (const i of indices) checkIndex(ds, i);
  const pixels = ds.images
    ? { images: readImages(ds, indices) }
    : { images: undefined, store: mappedStore(ds, indices) };
  return {
    ...ds,
    ...pixels,
    labels: Int32Array.from(indices, (i) => ds.labels[i]!),
    count: indices.length,
    source: selectSource(ds.source, indices),
  };
}

function selectSource(source: Source, indices: readonly number[]): Source {
  switch (source.format) {
    case "cifar100":
      return { ...source, otherLabels: Uint8Array.from(indices, (i) => source.otherLabels[i]!) };
    case "folder":
      return { ...source, fileNames: indices.map((i) => source.fileNames[i]!) };
    default:
      return source;
  }
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
  if (ds.images === undefined) {
    if (!ds.store) throw new DatasetError("neither images nor an image store", where);
  } else if (ds.images.length !== count * height * width * channels) {
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
