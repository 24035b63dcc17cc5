// Named datasets: a spec string ("fashion-mnist", "cifar10:/data/c10", "folder:PATH", "npy:PATH") resolved
// to a directory and read with the right reader, with an error saying where it looked and how to get it.
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { type Cifar100LabelKind, readCifarSplit, resolveCifarDir } from "./cifar.js";
import { type Dataset, numberedClassNames, type Split } from "./dataset.js";
import { DatasetError } from "./errors.js";
import { isDirectory, isFile } from "./files.js";
import { type FolderOptions, folderSplitRoot, readFolderSplit } from "./folder.js";
import { findIdxFiles, idxFileNames, readIdxSplit } from "./idx.js";
import { npyFiles, readNpySplit } from "./npy.js";
import { CIFAR10_URL, CIFAR100_URL, type DownloadableName } from "./sources.js";

export type DatasetName = DownloadableName | "folder" | "npy";
export const DATASET_NAMES: readonly DatasetName[] = ["fashion-mnist", "mnist", "cifar10", "cifar100", "folder", "npy"];

export interface DatasetSpec {
  readonly name: DatasetName;
  /** The directory named in the spec after the colon, if any. */
  readonly path: string | undefined;
}

export interface LoadOptions extends FolderOptions {
  /** Where the named dataset lives (the spec's ":PATH" wins over this). */
  dataDir?: string;
  /** CIFAR-100 only: which label to use, the 100 fine classes (default) or the 20 coarse superclasses. */
  labels?: Cifar100LabelKind;
}

export const FASHION_MNIST_CLASS_NAMES: readonly string[] = [
  "T-shirt/top",
  "Trouser",
  "Pullover",
  "Dress",
  "Coat",
  "Sandal",
  "Shirt",
  "Sneaker",
  "Bag",
  "Ankle boot",
];

/** Where Debian's dataset-fashion-mnist package installs the files. */
export const DEBIAN_FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";

const HOW_TO_GET: Record<DatasetName, string> = {
  "fashion-mnist":
    'On Debian: apt-get install dataset-fashion-mnist. Elsewhere download it (download("fashion-mnist") fetches the official ' +
    "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) " +
    "into a directory and pass it with --data-dir.",
  mnist:
    'Download it (download("mnist") fetches train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, ' +
    "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) into a directory and pass it with --data-dir.",
  cifar10:
    `Download ${CIFAR10_URL} (or call download("cifar10")) and extract it; pass the directory holding ` +
    "data_batch_1.bin .. data_batch_5.bin, test_batch.bin and batches.meta.txt (or its parent) with --data-dir.",
  cifar100:
    `Download ${CIFAR100_URL} (or call download("cifar100")) and extract it; pass the directory holding ` +
    "train.bin, test.bin, fine_label_names.txt and coarse_label_names.txt (or its parent) with --data-dir.",
  folder: "Give the directory as folder:PATH, with PATH/train/<class>/<image> and PATH/test/<class>/<image> (or val/).",
  npy: "Give the directory as npy:PATH, with PATH/train_images.npy, train_labels.npy, test_images.npy, test_labels.npy.",
};

export function parseSpec(spec: string): DatasetSpec {
  const colon = spec.indexOf(":");
  const name = (colon < 0 ? spec : spec.slice(0, colon)).trim().toLowerCase();
  const path = colon < 0 ? undefined : spec.slice(colon + 1);
  if (!(DATASET_NAMES as readonly string[]).includes(name)) {
    throw new DatasetError(
      `unknown dataset "${spec}"; expected one of ${DATASET_NAMES.join(", ")} (optionally NAME:PATH)`,
    );
  }
  if (path !== undefined && path.length === 0) throw new DatasetError(`empty path in dataset spec "${spec}"`);
  return { name: name as DatasetName, path };
}

/**
 * The directories a dataset is looked for in, in order: the spec's path or `dataDir` alone when given;
 * otherwise $ADVPOISON_DATA/NAME, Debian's directory (Fashion-MNIST) and ~/.cache/advpoison/NAME.
 */
export function candidateDirs(spec: DatasetSpec, options: LoadOptions = {}): string[] {
  const explicit = spec.path ?? options.dataDir;
  if (explicit !== undefined) return [resolve(explicit)];
  if (spec.name === "folder" || spec.name === "npy") return [];
  const dirs = [
    ...(process.env.ADVPOISON_DATA ? [join(process.env.ADVPOISON_DATA, spec.name)] : []),
    ...(spec.name === "fashion-mnist" ? [DEBIAN_FASHION_MNIST_DIR] : []),
    defaultDownloadDir(spec.name),
  ];
  return [...new Set(dirs)];
}

/** Where download() puts a dataset unless told otherwise: $ADVPOISON_DATA/NAME or ~/.cache/advpoison/NAME. */
export function defaultDownloadDir(name: DownloadableName): string {
  return join(process.env.ADVPOISON_DATA || join(homedir(), ".cache", "advpoison"), name);
}

/** The directory that holds the split in `dir` (for CIFAR possibly the archive's subdirectory), if any. */
function locate(name: DatasetName, dir: string, split: Split): string | undefined {
  if (!isDirectory(dir)) return undefined;
  switch (name) {
    case "fashion-mnist":
    case "mnist":
      return findIdxFiles(dir, split) ? dir : undefined;
    case "cifar10":
    case "cifar100":
      return resolveCifarDir(dir, name);
    case "folder":
      return folderSplitRoot(dir, split) ? dir : undefined;
    case "npy":
      return isFile(npyFiles(dir, split).images) ? dir : undefined;
  }
}

function expectedFiles(name: DatasetName, split: Split): string {
  switch (name) {
    case "fashion-mnist":
    case "mnist":
      return idxFileNames(split).join(", ");
    case "cifar10":
      return split === "train" ? "data_batch_1.bin .." : "test_batch.bin";
    case "cifar100":
      return `${split}.bin`;
    case "folder":
      return split === "train" ? "train/<class>/<image>" : "test/<class>/<image> or val/<class>/<image>";
    case "npy":
      return `${split}_images.npy, ${split}_labels.npy`;
  }
}

export function loadSplit(spec: string, split: Split, options: LoadOptions = {}): Dataset {
  const parsed = parseSpec(spec);
  const candidates = candidateDirs(parsed, options);
  if (candidates.length === 0)
    throw new DatasetError(`dataset "${spec}" needs a directory. ${HOW_TO_GET[parsed.name]}`);
  const found = candidates.map((d) => locate(parsed.name, d, split)).find((d) => d !== undefined);
  if (found === undefined) {
    throw new DatasetError(
      `dataset ${parsed.name} (${split} split) not found: looked for ${expectedFiles(parsed.name, split)} in ` +
        `${candidates.join(", ")}. ${HOW_TO_GET[parsed.name]}`,
    );
  }
  switch (parsed.name) {
    case "fashion-mnist":
      return readIdxSplit(found, split, FASHION_MNIST_CLASS_NAMES);
    case "mnist":
      return readIdxSplit(found, split, numberedClassNames(10));
    case "cifar10":
    case "cifar100":
      return readCifarSplit(found, parsed.name, split, options.labels);
    case "folder":
      // Streamed unless asked otherwise (ADVPOISON_FOLDER_MEMORY=1 asks it of every command).
      return readFolderSplit(found, split, {
        ...options,
        memory: options.memory ?? process.env.ADVPOISON_FOLDER_MEMORY === "1",
      });
    case "npy":
      return readNpySplit(found, split);
  }
}

export function loadDataset(spec: string, options: LoadOptions = {}): { train: Dataset; test: Dataset } {
  return { train: loadSplit(spec, "train", options), test: loadSplit(spec, "test", options) };
}
