// NumPy .npy files: "\x93NUMPY", version, a little-endian header length, then a Python dict literal
// ({'descr': '|u1', 'fortran_order': False, 'shape': (N, H, W), }) padded to 64 bytes, then raw C-order data.
import { join } from "node:path";
import { writeFileDurable } from "../util/atomic.js";
import {
  checkDataset,
  type Dataset,
  imageBlocks,
  type NpyLabelDescr,
  numberedClassNames,
  type Split,
} from "./dataset.js";
import { DatasetError } from "./errors.js";
import { isFile, readBytes, readNameList, writeNameList } from "./files.js";

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const ALIGN = 64;
const GROWTH_AXIS_DIGITS = 21;

const LABEL_DESCRS: readonly string[] = ["|u1", "<u1", "|i1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8"];
const IMAGE_DESCRS: readonly string[] = ["|u1", "<u1", ">u1", "u1"];

export interface NpyArray {
  readonly descr: string;
  readonly shape: readonly number[];
  /** The raw element bytes (a view into the file). */
  readonly data: Uint8Array;
}

/** Parses a whole .npy file; `path` is for error messages. */
export function parseNpy(bytes: Uint8Array, path: string): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new DatasetError("not a .npy file: missing the \\x93NUMPY magic", path);
  }
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerStart: number;
  let headerLength: number;
  if (major === 1) {
    headerStart = 10;
    headerLength = view.getUint16(8, true);
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new DatasetError("truncated .npy header", path);
    headerStart = 12;
    headerLength = view.getUint32(8, true);
  } else {
    throw new DatasetError(`unsupported .npy format version ${major}.${bytes[7]}`, path);
  }
  const dataStart = headerStart + headerLength;
  if (bytes.length < dataStart) throw new DatasetError("truncated .npy header", path);
  const text = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(bytes.subarray(headerStart, dataStart));
  const header = parseHeaderDict(text, path);
  const count = header.shape.reduce((a, b) => a * b, 1);
  const expected = count * itemSize(header.descr, path);
  const available = bytes.length - dataStart;
  if (available !== expected) {
    const what = available < expected ? "truncated" : "has trailing data";
    throw new DatasetError(
      `.npy data ${what}: shape (${header.shape.join(", ")}) of ${header.descr} needs ${expected} bytes, found ${available}`,
      path,
    );
  }
  return { descr: header.descr, shape: header.shape, data: bytes.subarray(dataStart) };
}

function itemSize(descr: string, path: string): number {
  const size = Number(/^[<>|=]?[iuf](\d+)$/.exec(descr)?.[1]);
  if (!Number.isInteger(size) || size < 1) throw new DatasetError(`unsupported .npy dtype '${descr}'`, path);
  return size;
}

/**
 * The .npy bytes of a C-order array, laid out exactly as numpy (>= 1.24) writes them: version 1.0, keys
 * sorted, spare spaces for the first axis to grow to 21 digits, then padding (1 to 64 spaces) and a newline
 * so the data starts on a 64-byte boundary.
 */
export function encodeNpy(descr: string, shape: readonly number[], data: Uint8Array): Uint8Array {
  const header = npyHeader(descr, shape);
  const out = new Uint8Array(header.length + data.length);
  out.set(header);
  out.set(data, header.length);
  return out;
}

/** The bytes of a .npy file before its data: magic, version 1.0, the header dict padded to 64 bytes. */
function npyHeader(descr: string, shape: readonly number[]): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const growth = shape.length > 0 ? " ".repeat(Math.max(0, GROWTH_AXIS_DIGITS - String(shape[0]).length)) : "";
  const unpadded = MAGIC.length + 2 + 2 + dict.length + growth.length + 1;
  const header = `${dict}${growth}${" ".repeat(ALIGN - (unpadded % ALIGN))}\n`;
  const out = new Uint8Array(10 + header.length);
  out.set(MAGIC);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, "latin1"), 10);
  return out;
}

// ---- the header: a Python dict literal, parsed rather than pattern-matched so any key order works ----

type PyValue = string | number | boolean | null | PyValue[] | Map<string, PyValue>;

interface Header {
  descr: string;
  shape: number[];
}

function parseHeaderDict(text: string, path: string): Header {
  let value: PyValue;
  try {
    value = new PyLiteralParser(text).parseAll();
  } catch (e) {
    throw new DatasetError(`bad .npy header: ${(e as Error).message} in ${JSON.stringify(text.trim())}`, path);
  }
  if (!(value instanceof Map)) throw new DatasetError(`bad .npy header: not a dict: ${text.trim()}`, path);
  const descr = value.get("descr");
  const fortran = value.get("fortran_order");
  const shape = value.get("shape");
  if (typeof descr !== "string") {
    throw new DatasetError(
      `bad .npy header: 'descr' must be a simple dtype string, got ${JSON.stringify(descr)}`,
      path,
    );
  }
  if (typeof fortran !== "boolean") throw new DatasetError("bad .npy header: 'fortran_order' missing", path);
  if (fortran) throw new DatasetError("Fortran-order .npy arrays are not supported; save with C order", path);
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === "number" && Number.isInteger(d) && d >= 0)) {
    throw new DatasetError(`bad .npy header: 'shape' must be a tuple of sizes, got ${JSON.stringify(shape)}`, path);
  }
  return { descr, shape: shape as number[] };
}

class PyLiteralParser {
  #pos = 0;
  constructor(readonly text: string) {}

  parseAll(): PyValue {
    const v = this.value();
    this.#skipSpace();
    if (this.#pos !== this.text.length) throw new Error(`unexpected '${this.text[this.#pos]}' at ${this.#pos}`);
    return v;
  }

  value(): PyValue {
    this.#skipSpace();
    const c = this.text[this.#pos];
    if (c === "{") return this.#dict();
    if (c === "(" || c === "[") return this.#sequence(c === "(" ? ")" : "]");
    if (c === "'" || c === '"') return this.#string(c);
    const word = /^(True|False|None|-?\d+)/.exec(this.text.slice(this.#pos))?.[0];
    if (word === undefined) throw new Error(`unexpected ${c === undefined ? "end" : `'${c}'`} at ${this.#pos}`);
    this.#pos += word.length;
    return word === "True" ? true : word === "False" ? false : word === "None" ? null : Number(word);
  }

  #dict(): Map<string, PyValue> {
    const map = new Map<string, PyValue>();
    this.#pos++;
    while (!this.#eat("}")) {
      const key = this.value();
      if (typeof key !== "string") throw new Error("dict keys must be strings");
      this.#expect(":");
      map.set(key, this.value());
      if (!this.#eat(",")) this.#expect("}", true);
    }
    return map;
  }

  #sequence(close: string): PyValue[] {
    const items: PyValue[] = [];
    this.#pos++;
    while (!this.#eat(close)) {
      items.push(this.value());
      if (!this.#eat(",")) this.#expect(close, true);
    }
    return items;
  }

  #string(quote: string): string {
    const end = this.text.indexOf(quote, this.#pos + 1);
    if (end < 0) throw new Error("unterminated string");
    const s = this.text.slice(this.#pos + 1, end);
    this.#pos = end + 1;
    return s;
  }

  #skipSpace(): void {
    while (this.#pos < this.text.length && /\s/.test(this.text[this.#pos]!)) this.#pos++;
  }

  #eat(token: string): boolean {
    this.#skipSpace();
    if (this.text[this.#pos] !== token) return false;
    this.#pos++;
    return true;
  }

  /** Requires `token` next; with `peek` it is left for the caller's loop to consume. */
  #expect(token: string, peek = false): void {
    this.#skipSpace();
    if (this.text[this.#pos] !== token) throw new Error(`expected '${token}' at ${this.#pos}`);
    if (!peek) this.#pos++;
  }
}

// ---- datasets: DIR/{train,test}_{images,labels}.npy and an optional DIR/class_names.txt ----

const CLASS_NAMES_FILE = "class_names.txt";

export function npyFiles(dir: string, split: Split): { images: string; labels: string } {
  return { images: join(dir, `${split}_images.npy`), labels: join(dir, `${split}_labels.npy`) };
}

function readNpyImages(path: string): {
  shape: [number, number, number, number];
  data: Uint8Array;
  ndim: 3 | 4;
} {
  const array = parseNpy(readBytes(path), path);
  if (!IMAGE_DESCRS.includes(array.descr)) {
    throw new DatasetError(`images must be uint8 ('|u1'), found dtype '${array.descr}'`, path);
  }
  const [n, h, w, c = 1] = array.shape;
  if ((array.shape.length !== 3 && array.shape.length !== 4) || n === undefined || h === undefined || w === undefined) {
    throw new DatasetError(`images must have shape (N, H, W) or (N, H, W, C), found (${array.shape.join(", ")})`, path);
  }
  if (c !== 1 && c !== 3) throw new DatasetError(`images must have 1 or 3 channels, found ${c}`, path);
  return { shape: [n, h, w, c], data: array.data, ndim: array.shape.length as 3 | 4 };
}

export function readNpyLabels(path: string): { labels: Int32Array; descr: NpyLabelDescr } {
  const array = parseNpy(readBytes(path), path);
  if (!LABEL_DESCRS.includes(array.descr)) {
    throw new DatasetError(
      `labels must be integers of dtype ${LABEL_DESCRS.join(", ")} (little-endian), found '${array.descr}'`,
      path,
    );
  }
  if (array.shape.length !== 1) {
    throw new DatasetError(`labels must be one-dimensional, found shape (${array.shape.join(", ")})`, path);
  }
  const descr = array.descr as NpyLabelDescr;
  const size = itemSize(descr, path);
  const signed = descr.includes("i");
  const view = new DataView(array.data.buffer, array.data.byteOffset, array.data.byteLength);
  const labels = new Int32Array(array.shape[0]!);
  for (let i = 0; i < labels.length; i++) {
    const value = readInteger(view, i * size, size, signed);
    if (value < -2147483648 || value > 2147483647) {
      throw new DatasetError(`label out of range: sample ${i} has label ${value}`, path);
    }
    labels[i] = value;
  }
  return { labels, descr };
}

function readInteger(view: DataView, offset: number, size: number, signed: boolean): number {
  switch (size) {
    case 1:
      return signed ? view.getInt8(offset) : view.getUint8(offset);
    case 2:
      return signed ? view.getInt16(offset, true) : view.getUint16(offset, true);
    case 4:
      return signed ? view.getInt32(offset, true) : view.getUint32(offset, true);
    default:
      return Number(signed ? view.getBigInt64(offset, true) : view.getBigUint64(offset, true));
  }
}

/** The most classes a dataset without class_names.txt may imply (ImageNet-21k has ~21800). */
export const MAX_IMPLIED_CLASSES = 100_000;

/**
 * Class names from class_names.txt, else "0".."K-1" with K one more than the largest label of any split.
 * That K is bounded, by MAX_IMPLIED_CLASSES and by the number of samples (a class with no example in either
 * split is more likely a stray label than a class), so one wrong label cannot build billions of names or
 * quietly add classes; the error names it.
 */
function npyClassNames(dir: string, labelsFile: string, labels: Int32Array): readonly string[] {
  const namesFile = join(dir, CLASS_NAMES_FILE);
  if (isFile(namesFile)) return readNameList(namesFile);
  const splits = [{ file: labelsFile, labels }];
  for (const split of ["train", "test"] as const) {
    const other = npyFiles(dir, split).labels;
    if (other !== labelsFile && isFile(other)) splits.push({ file: other, labels: readNpyLabels(other).labels });
  }
  const samples = splits.reduce((n, s) => n + s.labels.length, 0);
  const limit = Math.min(MAX_IMPLIED_CLASSES, samples);
  let max = -1;
  for (const { file, labels: ls } of splits) {
    const i = ls.findIndex((l) => l >= limit);
    if (i >= 0) {
      throw new DatasetError(
        `label out of range: sample ${i} has label ${ls[i]}, which would make ${ls[i]! + 1} classes ` +
          `(at most ${limit} without ${CLASS_NAMES_FILE}: ${MAX_IMPLIED_CLASSES} and no more than the ${samples} ` +
          `samples); list the classes in ${CLASS_NAMES_FILE} if it is right`,
        file,
      );
    }
    max = ls.reduce((m, l) => Math.max(m, l), max);
  }
  return numberedClassNames(max + 1);
}

export function readNpySplit(dir: string, split: Split): Dataset {
  const files = npyFiles(dir, split);
  if (!isFile(files.images) || !isFile(files.labels)) {
    throw new DatasetError(`no .npy ${split} split (${split}_images.npy and ${split}_labels.npy)`, dir);
  }
  const images = readNpyImages(files.images);
  const { labels, descr } = readNpyLabels(files.labels);
  const [count, height, width, channels] = images.shape;
  if (labels.length !== count) {
    throw new DatasetError(`image/label count mismatch: ${count} images but ${labels.length} labels`, files.labels);
  }
  const classNames = npyClassNames(dir, files.labels, labels);
  return checkDataset(
    {
      images: images.data,
      labels,
      count,
      height,
      width,
      channels,
      numClasses: classNames.length,
      classNames,
      source: {
        format: "npy",
        imagesFile: files.images,
        labelsFile: files.labels,
        labelDescr: descr,
        imagesNdim: images.ndim,
      },
    },
    files.labels,
  );
}

/** Writes {split}_images.npy (uint8), {split}_labels.npy and class_names.txt. */
export function writeNpySplit(dir: string, split: Split, ds: Dataset): void {
  const source = ds.source.format === "npy" ? ds.source : undefined;
  const ndim = source?.imagesNdim ?? (ds.channels === 1 ? 3 : 4);
  const shape = ndim === 3 ? [ds.count, ds.height, ds.width] : [ds.count, ds.height, ds.width, ds.channels];
  const descr = source?.labelDescr ?? "<i8";
  const files = npyFiles(dir, split);
  writeFileDurable(files.images, npyImages(shape, ds));
  writeFileDurable(files.labels, encodeNpy(descr, [ds.count], encodeLabels(ds.labels, descr)));
  writeNameList(join(dir, CLASS_NAMES_FILE), ds.classNames);
}

/** A uint8 images .npy file in parts: its header, then the images block by block (a streamed set is never whole). */
function* npyImages(shape: readonly number[], ds: Dataset): Generator<Uint8Array> {
  yield npyHeader("|u1", shape);
  for (const [, block] of imageBlocks(ds)) yield block;
}

function encodeLabels(labels: Int32Array, descr: NpyLabelDescr): Uint8Array {
  const size = Number(descr.slice(2));
  const out = new Uint8Array(labels.length * size);
  const view = new DataView(out.buffer);
  labels.forEach((label, i) => {
    if (size === 8) view.setBigInt64(i * size, BigInt(label), true);
    else if (size === 4) view.setInt32(i * size, label, true);
    else if (size === 2) view.setInt16(i * size, label, true);
    else view.setInt8(i * size, label);
  });
  return out;
}
