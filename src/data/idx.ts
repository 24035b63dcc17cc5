// IDX files (MNIST, Fashion-MNIST): a big-endian header (magic 0x0000TTNN: type code TT, NN dimensions),
// NN big-endian uint32 sizes, then the elements. Only unsigned bytes (type 0x08) are image data.
import { basename, join } from "node:path";
import { gzipSync } from "node:zlib";
import { writeFileDurable } from "../util/atomic.js";
import { checkDataset, type Dataset, readRange, type Split } from "./dataset.js";
import { DatasetError } from "./errors.js";
import { decodeMaybeGzip, isFile, isGzip, readBytes, readMaybeGzip, sameBytes } from "./files.js";

const UBYTE = 0x08;

export interface IdxArray {
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

/** An IDX header: the dimensions, where the elements start and the file size they imply. */
interface IdxHeader {
  readonly dims: readonly number[];
  readonly headerSize: number;
  readonly fileSize: number;
}

/** The largest header: 255 dimensions. */
const MAX_HEADER_BYTES = 4 + 4 * 255;

/** Reads the header at the start of `bytes` (the whole file or just its head); `path` names it in errors. */
function parseIdxHeader(bytes: Uint8Array, path: string): IdxHeader {
  if (bytes.length < 4)
    throw new DatasetError(`truncated IDX file: ${bytes.length} bytes, too short for a header`, path);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  const typeCode = bytes[2]!;
  const ndims = bytes[3]!;
  if (bytes[0] !== 0 || bytes[1] !== 0 || ndims === 0) {
    throw new DatasetError(
      `not an IDX file: bad magic number 0x${magic.toString(16).padStart(8, "0")} (expected 0x00000801 for labels or 0x00000803 for images)`,
      path,
    );
  }
  if (typeCode !== UBYTE) {
    throw new DatasetError(
      `IDX element type 0x${typeCode.toString(16)} is not supported; only unsigned bytes (0x08)`,
      path,
    );
  }
  const headerSize = 4 + 4 * ndims;
  if (bytes.length < headerSize) throw new DatasetError(`truncated IDX header: ${bytes.length} bytes`, path);
  const dims: number[] = [];
  for (let i = 0; i < ndims; i++) dims.push(view.getUint32(4 + 4 * i));
  return { dims, headerSize, fileSize: headerSize + dims.reduce((a, b) => a * b, 1) };
}

/** Parses an (already gunzipped) IDX file of unsigned bytes; `path` is only for error messages. */
export function parseIdx(bytes: Uint8Array, path: string): IdxArray {
  const { dims, headerSize, fileSize: expected } = parseIdxHeader(bytes, path);
  if (bytes.length !== expected) {
    const what = bytes.length < expected ? "truncated" : "has trailing data";
    throw new DatasetError(
      `IDX file ${what}: dimensions ${dims.join("x")} need ${expected} bytes, found ${bytes.length}`,
      path,
    );
  }
  return { dims, data: bytes.subarray(headerSize) };
}

/** Reads an IDX file, plain or gzipped; a gzipped one decompresses to no more than its header announces. */
export function readIdxFile(path: string): { idx: IdxArray; gzip: boolean } {
  const { data, gzip } = readMaybeGzip(path, {
    announcedSize: (head) => parseIdxHeader(head, path).fileSize,
    headBytes: MAX_HEADER_BYTES,
  });
  return { idx: parseIdx(data, path), gzip };
}

/** The IDX bytes of an unsigned-byte array. */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  const headerSize = 4 + 4 * dims.length;
  const out = new Uint8Array(headerSize + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, (UBYTE << 8) | dims.length);
  for (const [i, d] of dims.entries()) view.setUint32(4 + 4 * i, d);
  out.set(data, headerSize);
  return out;
}

const STEMS: Record<Split, { images: string; labels: string }> = {
  train: { images: "train-images-idx3-ubyte", labels: "train-labels-idx1-ubyte" },
  test: { images: "t10k-images-idx3-ubyte", labels: "t10k-labels-idx1-ubyte" },
};

/** The split's image and label files in `dir` (gzipped ".gz" names first), or undefined if absent. */
export function findIdxFiles(dir: string, split: Split): { images: string; labels: string } | undefined {
  const pick = (stem: string) => [`${stem}.gz`, stem].map((name) => join(dir, name)).find(isFile);
  const images = pick(STEMS[split].images);
  const labels = pick(STEMS[split].labels);
  return images && labels ? { images, labels } : undefined;
}

/** The file names a split is looked for under, for "where it looked" messages. */
export function idxFileNames(split: Split): string[] {
  return [`${STEMS[split].images}[.gz]`, `${STEMS[split].labels}[.gz]`];
}

export function readIdxSplit(dir: string, split: Split, classNames: readonly string[]): Dataset {
  const files = findIdxFiles(dir, split);
  if (!files) throw new DatasetError(`no IDX ${split} files (${idxFileNames(split).join(", ")})`, dir);
  const imagesFile = readIdxFile(files.images);
  const images = imagesFile.idx;
  if (images.dims.length !== 3) {
    throw new DatasetError(
      `IDX images must have 3 dimensions (count, rows, columns), found ${images.dims.length}`,
      files.images,
    );
  }
  const labels = readIdxFile(files.labels).idx;
  if (labels.dims.length !== 1) {
    throw new DatasetError(`IDX labels must have 1 dimension, found ${labels.dims.length}`, files.labels);
  }
  const [count, height, width] = images.dims as [number, number, number];
  if (labels.dims[0] !== count) {
    throw new DatasetError(
      `image/label count mismatch: ${count} images in ${basename(files.images)} but ${labels.dims[0]} labels`,
      files.labels,
    );
  }
  return checkDataset(
    {
      images: images.data,
      labels: Int32Array.from(labels.data),
      count,
      height,
      width,
      channels: 1,
      numClasses: classNames.length,
      classNames,
      source: { format: "idx", gzip: imagesFile.gzip, imagesFile: files.images, labelsFile: files.labels },
    },
    files.labels,
  );
}

/** Writes the split under its original file names; gzipped if the original was. */
export function writeIdxSplit(dir: string, ds: Dataset): void {
  if (ds.source.format !== "idx") throw new DatasetError(`cannot write a ${ds.source.format} dataset as IDX`);
  if (ds.channels !== 1) throw new DatasetError(`IDX holds grayscale images; this dataset has ${ds.channels} channels`);
  const { gzip, imagesFile, labelsFile } = ds.source;
  const images = encodeIdx([ds.count, ds.height, ds.width], readRange(ds, 0, ds.count));
  const labels = encodeIdx([ds.count], Uint8Array.from(ds.labels));
  writeFileDurable(join(dir, basename(imagesFile)), gzip ? gzipLikeOriginal(images, imagesFile) : images);
  writeFileDurable(join(dir, basename(labelsFile)), gzip ? gzipLikeOriginal(labels, labelsFile) : labels);
}

/**
 * Gzip output is not reproducible across compressors, so when the content is unchanged the original
 * compressed file is copied as is; that keeps unpoisoned files (labels, test split) byte-identical.
 */
function gzipLikeOriginal(content: Uint8Array, original: string): Uint8Array {
  if (isFile(original)) {
    const compressed = readBytes(original);
    if (isGzip(compressed) && sameBytes(gunzipOrEmpty(compressed, original), content)) return compressed;
  }
  return gzipSync(content, { level: 9 });
}

/** The original may have changed since it was read; a damaged one just means "not the same content". */
function gunzipOrEmpty(compressed: Uint8Array, path: string): Uint8Array {
  try {
    return decodeMaybeGzip(compressed, path).data;
  } catch {
    return new Uint8Array(0);
  }
}
