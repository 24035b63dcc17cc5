// advpoison's data layer: dataset readers and writers, named datasets, batches for training.
export { type AugmentOptions, type AugmentParams, augmentImage, drawAugmentParams } from "./augment.js";
export { CIFAR10_CLASS_NAMES, type Cifar100LabelKind, type CifarVariant, readCifarSplit } from "./cifar.js";
export {
  type Dataset,
  type DatasetFormat,
  type ImageStore,
  imageBlocks,
  imageBytes,
  imageSizeOf,
  inMemory,
  isStreamed,
  mappedStore,
  type NpyLabelDescr,
  readImages,
  readRange,
  type Source,
  type Split,
  STREAM_BLOCK,
  select,
  subset,
} from "./dataset.js";
export { type DownloadOptions, download, installResources } from "./download.js";
export { DatasetError } from "./errors.js";
export { type FolderOptions, indexImageFolder, readImageFolder } from "./folder.js";
export { encodeIdx, parseIdx, readIdxSplit } from "./idx.js";
export { decodeImage, encodePng, readImageHeader } from "./image.js";
export {
  type Batch,
  type BatchOptions,
  buildBatch,
  DataLoader,
  type LoaderOptions,
  type Normalization,
} from "./loader.js";
export { encodeNpy, parseNpy, readNpySplit } from "./npy.js";
export {
  candidateDirs,
  DATASET_NAMES,
  type DatasetName,
  type DatasetSpec,
  defaultDownloadDir,
  FASHION_MNIST_CLASS_NAMES,
  type LoadOptions,
  loadDataset,
  loadSplit,
  parseSpec,
} from "./registry.js";
export { Rng } from "./rng.js";
export { type DownloadableName, OFFICIAL_SOURCES, type Resource } from "./sources.js";
export { channelMeans } from "./stats.js";
export { type OutputFormat, type WriteOptions, writeDataset } from "./write.js";
