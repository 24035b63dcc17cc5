// CIFAR-10 and CIFAR-100 "binary version" batches: fixed-size records of label byte(s) then a 32x32 RGB
// image stored channel-planar (1024 red, 1024 green, 1024 blue bytes, each row-major).
import { dirname, join } from "node:path";
import { writeFileDurable } from "../util/atomic.js";
import { checkDataset, type Dataset, imageBytes, numberedClassNames, type Split } from "./dataset.js";
import { DatasetError } from "./errors.js";
import { isFile, readBytes, readNameList, writeNameList } from "./files.js";

export type CifarVariant = "cifar10" | "cifar100";
export type Cifar100LabelKind = "fine" | "coarse";

const SIDE = 32;
const PLANE = SIDE * SIDE;
const IMAGE_BYTES = 3 * PLANE;

export const CIFAR10_CLASS_NAMES: readonly string[] = [
  "airplane",
  "automobile",
  "bird",
  "cat",
  "deer",
  "dog",
  "frog",
  "horse",
  "ship",
  "truck",
];

// Each record's label bytes, by number of classes: CIFAR-100 stores the coarse label, then the fine one.
const LAYOUT = {
  cifar10: { archiveDir: "cifar-10-batches-bin", labelClasses: [10], marker: "data_batch_1.bin" },
  cifar100: { archiveDir: "cifar-100-binary", labelClasses: [20, 100], marker: "train.bin" },
} as const;

/** `dir` itself, or the directory the official archive extracts to inside it, whichever holds the data. */
export function resolveCifarDir(dir: string, variant: CifarVariant): string | undefined {
  const { archiveDir, marker } = LAYOUT[variant];
  return [dir, join(dir, archiveDir)].find((d) => isFile(join(d, marker)));
}

/** The batch files of a split: data_batch_1.bin, data_batch_2.bin, ... as far as they go, or one file. */
function splitFiles(dir: string, variant: CifarVariant, split: Split): string[] {
  if (variant === "cifar100") return [join(dir, `${split}.bin`)];
  if (split === "test") return [join(dir, "test_batch.bin")];
  const files: string[] = [];
  for (let i = 1; isFile(join(dir, `data_batch_${i}.bin`)); i++) files.push(join(dir, `data_batch_${i}.bin`));
  if (isFile(join(dir, `data_batch_${files.length + 2}.bin`))) {
    throw new DatasetError(`data_batch_${files.length + 1}.bin is missing but later batches exist`, dir);
  }
  return files;
}

function classNamesFrom(file: string, expected: number, fallback: readonly string[]): readonly string[] {
  if (!isFile(file)) return fallback;
  const names = readNameList(file);
  if (names.length !== expected)
    throw new DatasetError(`expected ${expected} class names, found ${names.length}`, file);
  return names;
}

export function readCifarSplit(
  dir: string,
  variant: CifarVariant,
  split: Split,
  labelKind: Cifar100LabelKind = "fine",
): Dataset {
  const files = splitFiles(dir, variant, split);
  if (files.length === 0 || !isFile(files[0]!)) {
    throw new DatasetError(`no ${variant} ${split} batch (${files[0] ?? "data_batch_1.bin"})`, dir);
  }
  const recordSize = LAYOUT[variant].labelClasses.length + IMAGE_BYTES;
  const contents = files.map((file) => {
    const bytes = readBytes(file);
    if (bytes.length === 0 || bytes.length % recordSize !== 0) {
      throw new DatasetError(
        `truncated or corrupt ${variant} batch: ${bytes.length} bytes is not a whole number of ${recordSize}-byte records`,
        file,
      );
    }
    return bytes;
  });
  const batchSizes = contents.map((c) => c.length / recordSize);
  const count = batchSizes.reduce((a, b) => a + b, 0);
  const images = new Uint8Array(count * IMAGE_BYTES);
  const labels = new Int32Array(count);
  const otherLabels = new Uint8Array(variant === "cifar100" ? count : 0);
  const { labelClasses } = LAYOUT[variant];
  const labelOffset = variant === "cifar100" && labelKind === "fine" ? 1 : 0;
  let n = 0;
  for (const [f, bytes] of contents.entries()) {
    for (let r = 0; r < bytes.length; r += recordSize, n++) {
      for (const [k, classes] of labelClasses.entries()) {
        if (bytes[r + k]! >= classes) {
          throw new DatasetError(
            `label out of range: record ${r / recordSize} has label ${bytes[r + k]}, expected 0..${classes - 1}`,
            files[f],
          );
        }
      }
      labels[n] = bytes[r + labelOffset]!;
      if (variant === "cifar100") otherLabels[n] = bytes[r + 1 - labelOffset]!;
      planarToInterleaved(bytes, r + labelClasses.length, images, n * IMAGE_BYTES);
    }
  }
  const base = { images, labels, count, height: SIDE, width: SIDE, channels: 3 };
  if (variant === "cifar10") {
    const metaFile = join(dir, "batches.meta.txt");
    const classNames = classNamesFrom(metaFile, 10, CIFAR10_CLASS_NAMES);
    const source = { format: "cifar10", batchSizes, metaFile: isFile(metaFile) ? metaFile : undefined } as const;
    return checkDataset({ ...base, numClasses: 10, classNames, source }, files.at(-1)!);
  }
  const fine = classNamesFrom(join(dir, "fine_label_names.txt"), 100, numberedClassNames(100));
  const coarse = classNamesFrom(join(dir, "coarse_label_names.txt"), 20, numberedClassNames(20));
  const [classNames, otherClassNames] = labelKind === "fine" ? [fine, coarse] : [coarse, fine];
  const source = { format: "cifar100", file: files[0]!, labelKind, otherLabels, otherClassNames } as const;
  return checkDataset({ ...base, numClasses: classNames.length, classNames, source }, files[0]!);
}

/** Writes the split as the original batch files (same names, same records per file) and class-name files. */
export function writeCifarSplit(dir: string, split: Split, ds: Dataset): void {
  const source = ds.source;
  if (source.format !== "cifar10" && source.format !== "cifar100") {
    throw new DatasetError(`cannot write a ${source.format} dataset as CIFAR batches`);
  }
  if (ds.height !== SIDE || ds.width !== SIDE || ds.channels !== 3) {
    throw new DatasetError(`CIFAR batches hold 32x32 RGB images, not ${ds.height}x${ds.width}x${ds.channels}`);
  }
  if (source.format === "cifar10") {
    const files = split === "test" ? ["test_batch.bin"] : source.batchSizes.map((_, i) => `data_batch_${i + 1}.bin`);
    let start = 0;
    for (const [i, size] of source.batchSizes.entries()) {
      const end = Math.min(start + size, ds.count);
      if (end > start)
        writeFileDurable(
          join(dir, files[i]!),
          encodeRecords(ds, start, end, (k) => [ds.labels[k]!]),
        );
      start = end;
    }
    if (start < ds.count) throw new DatasetError(`${ds.count} images do not fit the source's batch sizes`);
    writeNameList(join(dir, "batches.meta.txt"), ds.classNames, source.metaFile);
    return;
  }
  const fineFirst = source.labelKind === "fine";
  const { labels } = ds;
  const { otherLabels } = source;
  const coarseThenFine = fineFirst
    ? (i: number) => [otherLabels[i]!, labels[i]!]
    : (i: number) => [labels[i]!, otherLabels[i]!];
  writeFileDurable(join(dir, `${split}.bin`), encodeRecords(ds, 0, ds.count, coarseThenFine));
  const [fine, coarse] = fineFirst ? [ds.classNames, source.otherClassNames] : [source.otherClassNames, ds.classNames];
  const srcDir = dirname(source.file);
  writeNameList(join(dir, "fine_label_names.txt"), fine, join(srcDir, "fine_label_names.txt"));
  writeNameList(join(dir, "coarse_label_names.txt"), coarse, join(srcDir, "coarse_label_names.txt"));
}

/** Records [start, end) of `ds`, each `labelBytes(i)` followed by the planar image. */
function encodeRecords(ds: Dataset, start: number, end: number, labelBytes: (i: number) => number[]): Uint8Array {
  const recordSize = labelBytes(start).length + IMAGE_BYTES;
  const out = new Uint8Array((end - start) * recordSize);
  for (let i = start, o = 0; i < end; i++, o += recordSize) {
    const labels = labelBytes(i);
    out.set(labels, o);
    interleavedToPlanar(imageBytes(ds, i), 0, out, o + labels.length);
  }
  return out;
}

function planarToInterleaved(src: Uint8Array, from: number, dst: Uint8Array, to: number): void {
  for (let p = 0; p < PLANE; p++) {
    dst[to + 3 * p] = src[from + p]!;
    dst[to + 3 * p + 1] = src[from + PLANE + p]!;
    dst[to + 3 * p + 2] = src[from + 2 * PLANE + p]!;
  }
}

function interleavedToPlanar(src: Uint8Array, from: number, dst: Uint8Array, to: number): void {
  for (let p = 0; p < PLANE; p++) {
    dst[to + p] = src[from + 3 * p]!;
    dst[to + PLANE + p] = src[from + 3 * p + 1]!;
    dst[to + 2 * PLANE + p] = src[from + 3 * p + 2]!;
  }
}
