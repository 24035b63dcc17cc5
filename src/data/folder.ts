// ImageFolder trees as torchvision reads them: ROOT/<class>/<image>.png|jpg|jpeg, classes numbered in the
// plain sorted order of their directory names, images sorted by file name within each class.
import { mkdirSync, readdirSync } from "node:fs";
import { basename, extname, join } from "node:path";
import { writeFileDurable } from "../util/atomic.js";
import { checkDataset, type Dataset, type ImageStore, imageBytes, inMemory, type Split } from "./dataset.js";
import { DatasetError } from "./errors.js";
import { isDirectory, readBytes } from "./files.js";
import { decodeImage, encodePng, readImageHeader } from "./image.js";
import { centerCrop, type HwcImage, resizeShorterSide, shorterSideSize } from "./resize.js";

const IMAGE_EXTENSIONS = [".png", ".jpg", ".jpeg"];

export interface FolderOptions {
  /** Resize every image so its shorter side has this length (torchvision's Resize(size)). */
  resize?: number;
  /** Then keep the centered crop x crop window (torchvision's CenterCrop(crop)). */
  crop?: number;
  /**
   * Read every image into memory up front (readImageFolder) instead of streaming them (indexImageFolder, the
   * default): the same bytes; faster to train on repeatedly when the set fits in memory.
   */
  memory?: boolean;
}

/** A split's tree inside a dataset directory: DIR/train, and DIR/test or else DIR/val. */
export function folderSplitRoot(dir: string, split: Split): string | undefined {
  const names = split === "train" ? ["train"] : ["test", "val"];
  return names.map((n) => join(dir, n)).find(isDirectory);
}

/**
 * Reads one split, streamed (indexImageFolder) unless `options.memory`. The test split is numbered by the training split's classes, matched by name (as a model
 * trained on train/ predicts them): a class missing from test/ just has no test images, while a class only in
 * test/ is an error, since no model trained on train/ can predict it.
 */
export function readFolderSplit(dir: string, split: Split, options: FolderOptions = {}): Dataset {
  const root = folderSplitRoot(dir, split);
  if (!root) {
    const expected = split === "train" ? "train/" : "test/ or val/";
    throw new DatasetError(`no ${split} split: expected a ${expected} directory holding <class>/<image> files`, dir);
  }
  const trainRoot = split === "test" ? folderSplitRoot(dir, "train") : undefined;
  const read = options.memory ? readImageFolder : indexImageFolder;
  if (trainRoot === undefined) return read(root, options);
  const trainClasses = classDirectories(trainRoot);
  const extra = classDirectories(root).filter((c) => !trainClasses.includes(c));
  if (extra.length > 0) {
    throw new DatasetError(
      `class ${extra.map((c) => `'${c}'`).join(", ")} of ${basename(root)}/ is not a class of train/ ` +
        `(${trainClasses.length} classes); the splits must have the same class directories`,
      root,
    );
  }
  return read(root, options, trainClasses);
}

/** The class directories of a split's root, in torchvision's (plain sorted) order. */
function classDirectories(root: string): string[] {
  return listDir(root)
    .filter((e) => e.isDir)
    .map((e) => e.name);
}

/**
 * Entries sorted by name, symbolic links followed. Hidden entries (".ipynb_checkpoints", editors' files)
 * are skipped, where torchvision would count them.
 */
function listDir(dir: string): { name: string; isDir: boolean }[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => !e.name.startsWith("."))
    .map((e) => ({ name: e.name, isDir: e.isDirectory() || (e.isSymbolicLink() && isDirectory(join(dir, e.name))) }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Reads every image directly inside ROOT's class directories into memory (subdirectories are not searched;
 * an empty class directory still counts as a class, so class indices survive subsetting). Images become
 * grayscale (1 channel) when every file is grayscale and RGB (3 channels) otherwise; alpha is dropped.
 * `classes` numbers the classes instead of ROOT's own directories (each directory must be one of them; a
 * class without a directory has no images). The same images, byte for byte, as indexImageFolder's
 * streamed dataset; every file is decoded here, so a damaged one is an error now.
 */
export function readImageFolder(root: string, options: FolderOptions = {}, classes?: readonly string[]): Dataset {
  return checkDataset(inMemory(indexImageFolder(root, options, classes)), root);
}

/**
 * Indexes ROOT's images without decoding them (as readImageFolder reads them, same order, labels, size and
 * channels): each file's class, name and size are listed and its header read (size, grayscale or colour),
 * and a streamed dataset is returned whose store decodes, resizes and crops just the files asked for, so
 * memory holds the index, not the images. A file damaged after its header, or changed since it was
 * indexed (another size), is an error naming it when it is read.
 */
export function indexImageFolder(root: string, options: FolderOptions = {}, classes?: readonly string[]): Dataset {
  if (!isDirectory(root)) throw new DatasetError("image folder not found", root);
  const classNames = classes ?? classDirectories(root);
  if (classNames.length === 0) throw new DatasetError("no class directories (expected ROOT/<class>/<image>)", root);
  const labels: number[] = [];
  const fileNames: string[] = [];
  const sizes: number[] = [];
  let allGray = true;
  let first: { file: string; height: number; width: number } | undefined;
  for (const [label, className] of classNames.entries()) {
    if (!isDirectory(join(root, className))) continue;
    const files = listDir(join(root, className)).filter(
      (e) => !e.isDir && IMAGE_EXTENSIONS.includes(extname(e.name).toLowerCase()),
    );
    for (const { name } of files) {
      const file = join(root, className, name);
      const header = readImageHeader(file);
      const [height, width] = fittedSize(header.height, header.width, options, file);
      first ??= { file, height, width };
      if (height !== first.height || width !== first.width) {
        throw new DatasetError(
          `mixed image sizes: ${height}x${width}, but ${first.file} is ${first.height}x${first.width}; ` +
            "pass resize and crop options to bring them to one size",
          file,
        );
      }
      allGray &&= header.grayscale;
      labels.push(label);
      fileNames.push(name);
      sizes.push(header.fileSize);
    }
  }
  if (!first) throw new DatasetError(`no images (${IMAGE_EXTENSIONS.join(", ")}) in any class directory`, root);
  const labelArray = Int32Array.from(labels);
  const shape = { height: first.height, width: first.width, channels: allGray ? 1 : 3 };
  return checkDataset(
    {
      images: undefined,
      store: new FolderStore(root, classNames, labelArray, fileNames, Float64Array.from(sizes), shape, options),
      labels: labelArray,
      count: labels.length,
      ...shape,
      numClasses: classNames.length,
      classNames,
      source: { format: "folder", root, fileNames },
    },
    root,
  );
}

/** What readImageFolder makes of an image of `height` x `width`: its size after resize and crop. */
function fittedSize(height: number, width: number, { resize, crop }: FolderOptions, file: string): [number, number] {
  const [h, w] = resize === undefined ? [height, width] : shorterSideSize(height, width, resize);
  if (crop === undefined) return [h, w];
  if (h < crop || w < crop) throw new DatasetError(`image is ${h}x${w}, smaller than the ${crop}x${crop} crop`, file);
  return [crop, crop];
}

/** A folder's images, decoded (and resized, cropped, made grey) file by file when read. */
class FolderStore implements ImageStore {
  constructor(
    readonly root: string,
    readonly classNames: readonly string[],
    readonly labels: Int32Array,
    readonly fileNames: readonly string[],
    readonly fileSizes: Float64Array,
    readonly shape: { height: number; width: number; channels: number },
    readonly options: FolderOptions,
  ) {}

  read(indices: ArrayLike<number>): Uint8Array {
    const { height, width, channels } = this.shape;
    const plane = height * width;
    const out = new Uint8Array(indices.length * plane * channels);
    for (let b = 0; b < indices.length; b++) {
      const i = indices[b]!;
      const file = join(this.root, this.classNames[this.labels[i]!]!, this.fileNames[i]!);
      const bytes = readBytes(file);
      if (bytes.length !== this.fileSizes[i])
        throw new DatasetError(
          `changed since the dataset was indexed: ${bytes.length} bytes, ${this.fileSizes[i]} when indexed`,
          file,
        );
      const decoded = decodeImage(bytes, file);
      const image = fitImage(
        { pixels: decoded.rgb, height: decoded.height, width: decoded.width, channels: 3 },
        this.options,
        file,
      );
      if (image.height !== height || image.width !== width)
        throw new DatasetError(`decodes to ${image.height}x${image.width}, indexed as ${height}x${width}`, file);
      if (channels === 1 && !decoded.grayscale)
        throw new DatasetError("is in colour, but it was grayscale when the dataset was indexed", file);
      const at = b * plane * channels;
      if (channels === 3) out.set(image.pixels, at);
      else for (let p = 0; p < plane; p++) out[at + p] = image.pixels[3 * p]!;
    }
    return out;
  }
}

function fitImage(image: HwcImage, { resize, crop }: FolderOptions, file: string): HwcImage {
  const resized = resize === undefined ? image : resizeShorterSide(image, resize);
  if (crop === undefined) return resized;
  const cropped = centerCrop(resized, crop);
  if (!cropped) {
    throw new DatasetError(`image is ${resized.height}x${resized.width}, smaller than the ${crop}x${crop} crop`, file);
  }
  return cropped;
}

/**
 * Writes the split as ROOT/<class>/<image>.png. PNG is lossless, so JPEG input is written as PNG too (the
 * decoded pixels, not the JPEG bytes). Class directories keep the class names when those are valid names
 * already in sorted order; otherwise they are prefixed with the zero-padded class index ("0-T-shirt_top"),
 * so that reading back (which numbers classes by sorted name) gives the same labels. Returns each image's
 * file relative to `dir` ("train/<class>/<name>.png"): reading back sorts images by class, then name.
 */
export function writeFolderSplit(dir: string, split: Split, ds: Dataset): string[] {
  const source = ds.source.format === "folder" ? ds.source : undefined;
  const splitDir = split === "test" && source && basename(source.root) === "val" ? "val" : split;
  const root = join(dir, splitDir);
  const classDirs = classDirectoryNames(ds.classNames);
  for (const name of classDirs) mkdirSync(join(root, name), { recursive: true });
  const digits = String(Math.max(ds.count - 1, 0)).length;
  const taken = new Set<string>();
  const files: string[] = [];
  for (let i = 0; i < ds.count; i++) {
    const classDir = classDirs[ds.labels[i]!]!;
    const stem = source ? withoutExtension(source.fileNames[i]!) : String(i).padStart(digits, "0");
    let name = `${stem}.png`;
    for (let k = 1; taken.has(`${classDir}/${name}`); k++) name = `${stem}-${k}.png`;
    taken.add(`${classDir}/${name}`);
    writeFileDurable(join(root, classDir, name), encodePng(imageBytes(ds, i), ds.height, ds.width, ds.channels));
    files.push(`${splitDir}/${classDir}/${name}`);
  }
  return files;
}

function withoutExtension(name: string): string {
  return name.slice(0, name.length - extname(name).length);
}

function classDirectoryNames(classNames: readonly string[]): string[] {
  const usable = (n: string) => n.length > 0 && !n.startsWith(".") && !/[/\\\0]/.test(n);
  const sorted = classNames.every((n, i) => i === 0 || classNames[i - 1]! < n);
  if (sorted && classNames.every(usable)) return [...classNames];
  const digits = String(classNames.length - 1).length;
  return classNames.map((n, i) => `${String(i).padStart(digits, "0")}-${n.replace(/[/\\\0]/g, "_")}`);
}
