// Mini-batches for training and evaluation. Each batch is assembled in JS from the uint8 images (gather,
// augment, scale, normalise in one pass per sample; a streamed dataset's batch is read, i.e. its files
// decoded, as it is built) and handed to libtorch as one contiguous float32
// NCHW tensor, so the loader costs a small fraction of a train step and leaves no intermediate tensors.
import { type Tensor, tensor } from "../torch/index.js";
import { type AugmentOptions, type AugmentParams, augmentImage, drawAugmentParams, IDENTITY } from "./augment.js";
import { type Dataset, readImages } from "./dataset.js";
import { DatasetError } from "./errors.js";
import { Rng } from "./rng.js";

export interface Normalization {
  /** Per-channel mean and standard deviation of the [0, 1] pixel values, as torchvision's Normalize. */
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

export interface BatchOptions {
  normalize?: Normalization;
  device?: string;
}

export interface LoaderOptions extends BatchOptions {
  batchSize: number;
  /** Reshuffle every epoch (seeded); off by default, as in PyTorch. */
  shuffle?: boolean;
  /** Seeds shuffling and augmentation: the same seed gives the same batches. Default 0. */
  seed?: number;
  /** Skip the last batch when it would be smaller than batchSize. */
  dropLast?: boolean;
  augment?: AugmentOptions;
}

/**
 * One mini-batch. The caller owns `x` and `y`: dispose them (or the batch) when done, or take the batch
 * inside a `scope()`, which frees them when it closes.
 */
export interface Batch {
  /** float32 [B, C, H, W]: pixels / 255, then normalised if asked. */
  readonly x: Tensor;
  /** int64 [B] class indices. */
  readonly y: Tensor;
  /** Which dataset samples the batch holds, in order. */
  readonly indices: Int32Array;
  dispose(): void;
}

/**
 * The float32 value of each byte value per channel: v / 255, then (· - mean) / std, each step rounded to
 * float32 as libtorch's ToTensor + Normalize would compute it.
 */
function valueTable(channels: number, normalize: Normalization | undefined): Float32Array {
  if (normalize && (normalize.mean.length !== channels || normalize.std.length !== channels)) {
    throw new DatasetError(
      `normalisation has ${normalize.mean.length} means and ${normalize.std.length} stds for ${channels}-channel images`,
    );
  }
  const table = new Float32Array(channels * 256);
  for (let c = 0; c < channels; c++) {
    const mean = Math.fround(normalize?.mean[c] ?? 0);
    const std = Math.fround(normalize?.std[c] ?? 1);
    for (let v = 0; v < 256; v++) {
      const scaled = Math.fround(v / 255);
      table[c * 256 + v] = normalize ? Math.fround(Math.fround(scaled - mean) / std) : scaled;
    }
  }
  return table;
}

/** Batch tensors for the given samples, each augmented with its own params (none when omitted). */
export function buildBatch(
  ds: Dataset,
  indices: Int32Array,
  options: BatchOptions = {},
  params?: readonly AugmentParams[],
): Batch {
  return new BatchAssembler(ds, options).build(indices, params);
}

class BatchAssembler {
  readonly #table: Float32Array;
  #scratch = new Uint8Array(0);

  constructor(
    readonly ds: Dataset,
    readonly options: BatchOptions,
  ) {
    this.#table = valueTable(ds.channels, options.normalize);
  }

  build(indices: Int32Array, params?: readonly AugmentParams[]): Batch {
    const { ds } = this;
    const { height, width, channels } = ds;
    const plane = height * width;
    const imageSize = plane * channels;
    if (this.#scratch.length < imageSize) this.#scratch = new Uint8Array(imageSize);
    const scratch = this.#scratch;
    const table = this.#table;
    const x = new Float32Array(indices.length * imageSize);
    const y = new BigInt64Array(indices.length);
    for (const i of indices)
      if (i < 0 || i >= ds.count) throw new DatasetError(`sample index ${i} out of range 0..${ds.count - 1}`);
    // In memory: each image is a view of the buffer; streamed: the batch's images are read (decoded) here.
    const images = ds.images;
    const block = images ? undefined : readImages(ds, indices);
    for (let b = 0; b < indices.length; b++) {
      const i = indices[b]!;
      y[b] = BigInt(ds.labels[i]!);
      const image = images
        ? images.subarray(i * imageSize, (i + 1) * imageSize)
        : block!.subarray(b * imageSize, (b + 1) * imageSize);
      const p = params?.[b] ?? IDENTITY;
      const pixels = p === IDENTITY ? image : scratch;
      if (p !== IDENTITY) augmentImage(image, height, width, channels, p, scratch);
      // H,W,C bytes to C,H,W floats.
      const out = b * imageSize;
      for (let c = 0; c < channels; c++) {
        const base = c * 256;
        const dst = out + c * plane;
        for (let q = 0, s = c; q < plane; q++, s += channels) x[dst + q] = table[base + pixels[s]!]!;
      }
    }
    const on = { device: this.options.device ?? "cpu" };
    const xt = tensor(x, [indices.length, channels, height, width], on);
    const yt = tensor(y, [indices.length], on);
    return {
      x: xt,
      y: yt,
      indices,
      dispose() {
        xt.dispose();
        yt.dispose();
      },
    };
  }
}

/**
 * Iterates a dataset in mini-batches. `epoch(e)` always yields the same batches for the same seed and e;
 * iterating the loader itself runs epochs 0, 1, 2, ... in turn. Batches are built lazily, one per step.
 */
export class DataLoader implements Iterable<Batch> {
  readonly #assembler: BatchAssembler;
  readonly #options: LoaderOptions;
  #nextEpoch = 0;

  constructor(
    readonly dataset: Dataset,
    options: LoaderOptions,
  ) {
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
      throw new DatasetError(`batch size must be a positive integer, got ${options.batchSize}`);
    }
    const padding = options.augment?.cropPadding ?? 0;
    if (!Number.isInteger(padding) || padding < 0) {
      throw new DatasetError(`crop padding must be a non-negative integer, got ${padding}`);
    }
    this.#options = options;
    this.#assembler = new BatchAssembler(dataset, options);
  }

  /** Batches per epoch. */
  get length(): number {
    const { count } = this.dataset;
    const { batchSize, dropLast } = this.#options;
    return dropLast ? Math.floor(count / batchSize) : Math.ceil(count / batchSize);
  }

  /** The order samples are visited in during `epoch`. */
  order(epoch: number): Int32Array {
    const order = Int32Array.from({ length: this.dataset.count }, (_, i) => i);
    return this.#options.shuffle ? new Rng(this.#options.seed ?? 0, 2 * epoch).shuffle(order) : order;
  }

  *epoch(epoch: number): Generator<Batch, void, undefined> {
    const order = this.order(epoch);
    const { batchSize, augment } = this.#options;
    const augmenting = augment !== undefined && ((augment.cropPadding ?? 0) > 0 || augment.flip === true);
    // Its own stream, so turning augmentation on or off does not change the sample order.
    const rng = new Rng(this.#options.seed ?? 0, 2 * epoch + 1);
    for (let b = 0; b < this.length; b++) {
      const indices = order.subarray(b * batchSize, Math.min((b + 1) * batchSize, order.length));
      const params = augmenting ? Array.from(indices, () => drawAugmentParams(rng, augment)) : undefined;
      yield this.#assembler.build(indices, params);
    }
  }

  [Symbol.iterator](): Iterator<Batch> {
    return this.epoch(this.#nextEpoch++);
  }
}
