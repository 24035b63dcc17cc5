// Writing datasets back to disk: in the format they were read from (so a poisoned dataset drops in where
// the clean one was), or as a PNG ImageFolder tree or .npy files on request. Always atomic.
import { join } from "node:path";
import { writeFileDurable } from "../util/atomic.js";
import type { OutputKind } from "../util/ownership.js";
import { writeDirectoryAtomic } from "./atomic.js";
import { writeCifarSplit } from "./cifar.js";
import { checkDataset, type Dataset, inMemory, type Split } from "./dataset.js";
import { DatasetError } from "./errors.js";
import { writeFolderSplit } from "./folder.js";
import { writeIdxSplit } from "./idx.js";
import { writeNpySplit } from "./npy.js";

/** "same": each split's source format; "folder": PNG ImageFolder tree; "npy": .npy arrays. */
export type OutputFormat = "same" | "folder" | "npy";

export interface WriteOptions {
  format?: OutputFormat;
  /** Replace an existing output directory. */
  force?: boolean;
  /**
   * More files to publish in the same atomic step (a release's manifest), by name inside the directory; or a
   * function making them once the splits are written, given the directory and where each image went.
   */
  extraFiles?: ExtraFiles | ((dir: string, written: WrittenSplits) => ExtraFiles);
  /** What advpoison marks the directory as (see util/ownership): "dataset" by default. */
  kind?: OutputKind;
}

export type ExtraFiles = Record<string, string | Uint8Array>;

/**
 * For formats with one file per image (folder), each split's image files, aligned with its images and
 * relative to the output directory: the only record of which image a file holds once the reader re-sorts them.
 */
export type WrittenSplits = Partial<Record<Split, readonly string[]>>;

/**
 * Writes the given splits into directory `dest`, laid out so that the matching reader reads them back
 * (fashion-mnist:DEST, cifar10:DEST, folder:DEST, npy:DEST, ...). The directory appears complete or not
 * at all; an existing one is only replaced with `force`.
 */
export function writeDataset(dest: string, splits: Partial<Record<Split, Dataset>>, options: WriteOptions = {}): void {
  const format = options.format ?? "same";
  const entries = (["train", "test"] as const).flatMap((split) => {
    const ds = splits[split];
    return ds ? [{ split, ds }] : [];
  });
  if (entries.length === 0) throw new DatasetError("nothing to write: no train or test split given");
  for (const { split, ds } of entries) checkDataset(ds, `${split} split to write`);
  const [first, second] = entries.map((e) => e.ds);
  if (first && second) checkCompatible(first, second, format);
  writeDirectoryAtomic(dest, options.force ?? false, options.kind ?? "dataset", (dir) => {
    const written: WrittenSplits = {};
    for (const { split, ds } of entries) {
      const files = writerFor(ds, format)(dir, split, ds);
      if (files) written[split] = files;
    }
    const extra = typeof options.extraFiles === "function" ? options.extraFiles(dir, written) : options.extraFiles;
    for (const [name, data] of Object.entries(extra ?? {})) writeFileDurable(join(dir, name), data);
  });
}

/** Writes one split into `dir`; image-per-file formats return each image's file (see WrittenSplits). */
type SplitWriter = (dir: string, split: Split, ds: Dataset) => readonly string[] | undefined;

/**
 * A writer of a format whose files hold many images (nothing to list) and are made whole in memory (IDX, CIFAR
 * batches: their sources are in memory anyway), so a streamed dataset is read into memory first. npy files are
 * written block by block and folder trees image by image: both stream.
 */
const manyPerFile =
  (write: (dir: string, split: Split, ds: Dataset) => void): SplitWriter =>
  (dir, split, ds) => {
    write(dir, split, inMemory(ds));
    return undefined;
  };

/** A writer of a many-image format that writes its files in parts, reading a streamed dataset as it goes. */
const manyInParts =
  (write: (dir: string, split: Split, ds: Dataset) => void): SplitWriter =>
  (dir, split, ds) => {
    write(dir, split, ds);
    return undefined;
  };

function writerFor(ds: Dataset, format: OutputFormat): SplitWriter {
  if (format === "folder") return writeFolderSplit;
  if (format === "npy") return manyInParts(writeNpySplit);
  switch (ds.source.format) {
    case "idx":
      return manyPerFile((dir, _split, d) => writeIdxSplit(dir, d));
    case "cifar10":
    case "cifar100":
      return manyPerFile(writeCifarSplit);
    case "folder":
      return writeFolderSplit;
    case "npy":
      return manyInParts(writeNpySplit);
  }
}

/** The splits share a directory and its class-name files, so they must agree on classes and format. */
function checkCompatible(train: Dataset, test: Dataset, format: OutputFormat): void {
  if (format === "same" && train.source.format !== test.source.format) {
    throw new DatasetError(
      `train split is ${train.source.format} but test split is ${test.source.format}; choose an output format (folder or npy)`,
    );
  }
  const sameNames =
    train.classNames.length === test.classNames.length && train.classNames.every((n, i) => n === test.classNames[i]);
  if (!sameNames) throw new DatasetError("train and test splits have different class names");
}
