// Small synthetic dataset files for the data tests, written into fresh temporary directories.

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { crc32, deflateRawSync, gzipSync, constants as zlibConstants } from "node:zlib";
import jpeg from "jpeg-js";
import { DatasetError } from "../../src/data/errors.js";
import { encodeIdx } from "../../src/data/idx.js";
import { encodeNpy } from "../../src/data/npy.js";

/** A new temporary directory, removed when the test file finishes. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "advpoison-data-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Deterministic, varied pixel bytes: no two images and no two neighbouring pixels alike. */
export function pixels(length: number, salt = 0): Uint8Array {
  const out = new Uint8Array(length);
  let s = (salt * 2654435761 + 12345) >>> 0;
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

export function labelsCycling(count: number, numClasses: number, offset = 0): Uint8Array {
  return Uint8Array.from({ length: count }, (_, i) => (i * 7 + offset) % numClasses);
}

export interface IdxFixture {
  dir: string;
  train: { images: Uint8Array; labels: Uint8Array };
  test: { images: Uint8Array; labels: Uint8Array };
}

/** MNIST-style IDX files (8x6 images), gzipped or plain. */
export function writeIdxFixture(dir: string, gzip: boolean, trainCount = 12, testCount = 5): IdxFixture {
  mkdirSync(dir, { recursive: true });
  const h = 8;
  const w = 6;
  const make = (count: number, salt: number) => ({
    images: pixels(count * h * w, salt),
    labels: labelsCycling(count, 10, salt),
  });
  const train = make(trainCount, 1);
  const test = make(testCount, 2);
  const put = (name: string, bytes: Uint8Array) =>
    // Level 1, unlike the writer's level 9: byte-identical output then proves the original was kept.
    writeFileSync(join(dir, gzip ? `${name}.gz` : name), gzip ? gzipSync(bytes, { level: 1 }) : bytes);
  put("train-images-idx3-ubyte", encodeIdx([trainCount, h, w], train.images));
  put("train-labels-idx1-ubyte", encodeIdx([trainCount], train.labels));
  put("t10k-images-idx3-ubyte", encodeIdx([testCount, h, w], test.images));
  put("t10k-labels-idx1-ubyte", encodeIdx([testCount], test.labels));
  return { dir, train, test };
}

/** One CIFAR record per entry: label bytes then 3072 planar image bytes. */
export function cifarRecords(labelBytes: number[][], salt: number): { file: Uint8Array; planar: Uint8Array[] } {
  const recordSize = labelBytes[0]!.length + 3072;
  const file = new Uint8Array(labelBytes.length * recordSize);
  const planar: Uint8Array[] = [];
  labelBytes.forEach((labels, r) => {
    const image = pixels(3072, salt * 1000 + r);
    planar.push(image);
    file.set(labels, r * recordSize);
    file.set(image, r * recordSize + labels.length);
  });
  return { file, planar };
}

export const CIFAR10_META = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n";

/** A cifar-10-batches-bin directory: `batches` training files of `perBatch` records, a test batch, meta. */
export function writeCifar10Fixture(dir: string, batches = 3, perBatch = 4): { train: Uint8Array[]; test: Uint8Array } {
  mkdirSync(dir, { recursive: true });
  const train: Uint8Array[] = [];
  for (let b = 1; b <= batches; b++) {
    const { file } = cifarRecords(
      Array.from({ length: perBatch }, (_, i) => [(b * 3 + i) % 10]),
      b,
    );
    writeFileSync(join(dir, `data_batch_${b}.bin`), file);
    train.push(file);
  }
  const test = cifarRecords([[1], [9], [0]], 99).file;
  writeFileSync(join(dir, "test_batch.bin"), test);
  writeFileSync(join(dir, "batches.meta.txt"), CIFAR10_META);
  return { train, test };
}

/** A cifar-100-binary directory with train.bin, test.bin and both name files. */
export function writeCifar100Fixture(dir: string): { train: Uint8Array; test: Uint8Array } {
  mkdirSync(dir, { recursive: true });
  const train = cifarRecords(
    Array.from({ length: 6 }, (_, i) => [i % 20, (i * 17) % 100]),
    5,
  ).file;
  const test = cifarRecords(
    [
      [19, 99],
      [0, 0],
    ],
    6,
  ).file;
  writeFileSync(join(dir, "train.bin"), train);
  writeFileSync(join(dir, "test.bin"), test);
  const fine = Array.from({ length: 100 }, (_, i) => `fine${String(i).padStart(2, "0")}`);
  const coarse = Array.from({ length: 20 }, (_, i) => `coarse${String(i).padStart(2, "0")}`);
  writeFileSync(join(dir, "fine_label_names.txt"), `${fine.join("\n")}\n`);
  writeFileSync(join(dir, "coarse_label_names.txt"), `${coarse.join("\n")}\n`);
  return { train, test };
}

/** An RGB H,W,3 image as a JPEG file's bytes (lossy: compare decoded pixels, not these). */
export function jpegBytes(rgb: Uint8Array, height: number, width: number): Uint8Array {
  const rgba = new Uint8Array(height * width * 4);
  for (let p = 0; p < height * width; p++) {
    rgba.set(rgb.subarray(3 * p, 3 * p + 3), 4 * p);
    rgba[4 * p + 3] = 255;
  }
  return jpeg.encode({ data: rgba, width, height }, 90).data;
}

export function writeNpy(path: string, descr: string, shape: number[], data: Uint8Array): void {
  writeFileSync(path, encodeNpy(descr, shape, data));
}

/** A ustar archive of the given files (for download tests). */
export function tarArchive(files: Record<string, Uint8Array>): Uint8Array {
  const blocks: Uint8Array[] = [];
  for (const [name, data] of Object.entries(files)) {
    const header = new Uint8Array(512);
    const put = (text: string, at: number) => header.set(Buffer.from(text, "latin1"), at);
    put(name, 0);
    put("0000644\0", 100);
    put("0000000\0", 108);
    put("0000000\0", 116);
    put(`${data.length.toString(8).padStart(11, "0")}\0`, 124);
    put("00000000000\0", 136);
    put("        ", 148);
    header[156] = "0".charCodeAt(0);
    put("ustar\u000000", 257);
    const sum = header.reduce((a, b) => a + b, 0);
    put(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
    blocks.push(header, data, new Uint8Array((512 - (data.length % 512)) % 512));
  }
  blocks.push(new Uint8Array(1024));
  return new Uint8Array(Buffer.concat(blocks)); // a plain array: Buffer.slice would share memory
}

/**
 * A hand-assembled one-component (grayscale) baseline JPEG of a flat 8x8 block of value 138: jpeg-js can
 * only encode color. One-code Huffman tables: DC symbol 3 ("0", then the 3 bits 101 for +5, times the DC
 * quantiser 16, over 8 = +10 above 128), AC end-of-block ("0"), padded with ones.
 */
export function grayJpeg(): Uint8Array {
  const huffman = (tableClass: number, symbol: number) => [
    0xff,
    0xc4,
    0,
    20,
    tableClass,
    1,
    ...Array(15).fill(0),
    symbol,
  ];
  return Uint8Array.from([
    ...[0xff, 0xd8],
    ...[0xff, 0xdb, 0, 67, 0, 16, ...Array(63).fill(1)],
    ...[0xff, 0xc0, 0, 11, 8, 0, 8, 0, 8, 1, 1, 0x11, 0],
    ...huffman(0x00, 3),
    ...huffman(0x10, 0),
    ...[0xff, 0xda, 0, 8, 1, 1, 0, 0, 63, 0],
    0b01010111,
    ...[0xff, 0xd9],
  ]);
}

/** Asserts that `fn` throws a DatasetError whose message matches and, if given, that names `path`. */
export function expectError(fn: () => unknown, pattern: RegExp, path?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DatasetError, `expected a DatasetError, got ${String(e)}`);
    assert.match(e.message, pattern);
    if (path !== undefined) assert.equal(e.path, path);
    return true;
  });
}

/**
 * A valid gzip file (correct CRC and size) that decompresses to `head` followed by zeros, `size` bytes in
 * all: a decompression bomb of about size/1000 bytes, built without ever holding `size` bytes. Each 1 MiB of
 * zeros is deflated once and repeated (a full flush makes every piece independent of the ones before).
 */
export function gzipBomb(size: number, head: Uint8Array = new Uint8Array(0)): Uint8Array {
  const MIB = 2 ** 20;
  const zeros = new Uint8Array(MIB);
  const flush = { finishFlush: zlibConstants.Z_FULL_FLUSH };
  const pieces: Uint8Array[] = [Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3), deflateRawSync(head, flush)];
  let crc = crc32(head);
  const zeroPiece = deflateRawSync(zeros, flush);
  let left = size - head.length;
  for (; left >= MIB; left -= MIB) {
    pieces.push(zeroPiece);
    crc = crc32(zeros, crc);
  }
  pieces.push(deflateRawSync(zeros.subarray(0, left)));
  crc = crc32(zeros.subarray(0, left), crc);
  const trailer = new Uint8Array(8);
  new DataView(trailer.buffer).setUint32(0, crc >>> 0, true);
  new DataView(trailer.buffer).setUint32(4, size % 2 ** 32, true);
  pieces.push(trailer);
  return new Uint8Array(Buffer.concat(pieces));
}

/** A PNG's signature and IHDR chunk announcing width x height (8-bit RGB), and nothing else. */
export function pngHeader(width: number, height: number): Uint8Array {
  const ihdr = new Uint8Array(17);
  const view = new DataView(ihdr.buffer);
  ihdr.set(Buffer.from("IHDR", "latin1"));
  view.setUint32(4, width);
  view.setUint32(8, height);
  ihdr.set([8, 2, 0, 0, 0], 12);
  const chunk = new Uint8Array(4 + 17 + 4);
  new DataView(chunk.buffer).setUint32(0, 13);
  chunk.set(ihdr, 4);
  new DataView(chunk.buffer).setUint32(21, crc32(ihdr) >>> 0);
  return new Uint8Array(Buffer.concat([Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a), chunk]));
}

/** A small real JPEG whose start-of-frame header is rewritten to announce width x height. */
export function jpegClaiming(width: number, height: number): Uint8Array {
  const bytes = jpegBytes(pixels(8 * 8 * 3), 8, 8);
  for (let i = 2; i + 9 < bytes.length; i += 2 + ((bytes[i + 2]! << 8) | bytes[i + 3]!)) {
    if (bytes[i + 1] === 0xc0) {
      bytes.set([height >> 8, height & 0xff, width >> 8, width & 0xff], i + 5);
      return bytes;
    }
  }
  throw new Error("jpeg-js wrote no baseline start-of-frame header");
}
