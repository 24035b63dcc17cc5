import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { encodeNpy, parseNpy, readNpyLabels, readNpySplit } from "../../src/data/npy.js";
import { loadSplit } from "../../src/data/registry.js";
import { writeDataset } from "../../src/data/write.js";
import { expectError, pixels, tempDir, writeNpy } from "./fixtures.js";

/** A .npy file with a hand-written header (as other writers may lay it out), padded to 64 bytes. */
function rawNpy(header: string, data: Uint8Array, version = 1): Uint8Array {
  const prefix = version === 1 ? 10 : 12;
  const padded = `${header.padEnd(Math.ceil((prefix + header.length + 1) / 64) * 64 - prefix - 1, " ")}\n`;
  const out = new Uint8Array(prefix + padded.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, padded.length, true);
  else view.setUint32(8, padded.length, true);
  out.set(Buffer.from(padded, "latin1"), prefix);
  out.set(data, prefix + padded.length);
  return out;
}

test("npy: the header numpy writes is reproduced exactly", () => {
  const bytes = encodeNpy("|u1", [2, 3], pixels(6));
  const header = Buffer.from(bytes.subarray(10, 10 + new DataView(bytes.buffer).getUint16(8, true))).toString("latin1");
  assert.equal(header.trimEnd(), "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }");
  // 118 bytes, as numpy 2.4's np.save writes it (room for the first axis to grow, then 64-byte alignment).
  assert.equal(header.length, 118);
  assert.equal((10 + header.length) % 64, 0);
  assert.ok(header.endsWith("\n"));
  const labels = encodeNpy("<i8", [3], new Uint8Array(24));
  assert.match(Buffer.from(labels).toString("latin1"), /'shape': \(3,\), \}/);
});

test("npy: headers in any key order, version 2, and extra spaces parse", () => {
  const data = pixels(12);
  const a = parseNpy(rawNpy("{'shape': (3, 2, 2), 'fortran_order': False, 'descr': '|u1'}", data), "a");
  assert.deepEqual(a.shape, [3, 2, 2]);
  assert.deepEqual(a.data, data);
  const b = parseNpy(rawNpy('{"descr": "|u1", "fortran_order": False, "shape": ( 12 , ), }', data, 2), "b");
  assert.deepEqual(b.shape, [12]);
});

test("npy: labels of every supported dtype read back as the same values", () => {
  const dir = tempDir();
  const values = [0, 3, 9, 1];
  const cases: [string, (view: DataView, i: number, v: number) => void, number][] = [
    ["|u1", (d, i, v) => d.setUint8(i, v), 1],
    ["<u1", (d, i, v) => d.setUint8(i, v), 1],
    ["<i4", (d, i, v) => d.setInt32(4 * i, v, true), 4],
    ["<i8", (d, i, v) => d.setBigInt64(8 * i, BigInt(v), true), 8],
  ];
  for (const [descr, set, size] of cases) {
    const data = new Uint8Array(values.length * size);
    for (const [i, v] of values.entries()) set(new DataView(data.buffer), i, v);
    const file = join(dir, `labels${size}${descr[0] === "|" ? "p" : "l"}.npy`);
    writeNpy(file, descr, [values.length], data);
    const read = readNpyLabels(file);
    assert.deepEqual(Array.from(read.labels), values, descr);
    assert.equal(read.descr, descr);
  }
});

function writeSplitFiles(dir: string, split: string, shape: number[], labels: Int32Array | BigInt64Array): Uint8Array {
  const count = shape[0]!;
  const images = pixels(
    shape.reduce((a, b) => a * b, 1),
    split.length,
  );
  writeNpy(join(dir, `${split}_images.npy`), "|u1", shape, images);
  const descr = labels instanceof BigInt64Array ? "<i8" : "<i4";
  writeNpy(join(dir, `${split}_labels.npy`), descr, [count], new Uint8Array(labels.buffer));
  return images;
}

test("npy: N,H,W and N,H,W,C datasets read and round-trip byte-exact (files too)", () => {
  const root = tempDir();
  const gray = join(root, "gray");
  mkdirSync(gray);
  const grayImages = writeSplitFiles(gray, "train", [4, 5, 3], BigInt64Array.of(0n, 2n, 1n, 2n));
  writeSplitFiles(gray, "test", [2, 5, 3], BigInt64Array.of(1n, 0n));
  const ds = readNpySplit(gray, "train");
  assert.deepEqual([ds.count, ds.height, ds.width, ds.channels, ds.numClasses], [4, 5, 3, 1, 3]);
  assert.deepEqual(ds.images, grayImages);
  assert.deepEqual(ds.classNames, ["0", "1", "2"]);

  const rgb = join(root, "rgb");
  mkdirSync(rgb);
  const rgbImages = writeSplitFiles(rgb, "train", [3, 2, 4, 3], Int32Array.of(1, 0, 1));
  writeSplitFiles(rgb, "test", [1, 2, 4, 3], Int32Array.of(0));
  writeFileSync(join(rgb, "class_names.txt"), "cat\ndog\n");
  const train = loadSplit(`npy:${rgb}`, "train");
  assert.deepEqual([train.channels, train.numClasses], [3, 2]);
  assert.deepEqual(train.images, rgbImages);
  assert.deepEqual(train.classNames, ["cat", "dog"]);

  for (const dir of [gray, rgb]) {
    const out = `${dir}-out`;
    writeDataset(out, { train: loadSplit(`npy:${dir}`, "train"), test: loadSplit(`npy:${dir}`, "test") });
    for (const name of ["train_images.npy", "train_labels.npy", "test_images.npy", "test_labels.npy"]) {
      assert.deepEqual(readFileSync(join(out, name)), readFileSync(join(dir, name)), `${dir} ${name}`);
    }
  }
});

test("npy errors: magic, header syntax, fortran order, dtypes, shapes, truncation, counts, ranges", () => {
  const data = pixels(8);
  expectError(() => parseNpy(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), "f"), /not a .npy file/, "f");
  expectError(
    () => parseNpy(rawNpy("{'descr': '|u1', 'fortran_order': False, 'shape': (8,", data), "f"),
    /bad .npy header/,
  );
  expectError(() => parseNpy(rawNpy("[1, 2]", data), "f"), /not a dict/);
  expectError(
    () => parseNpy(rawNpy("{'descr': '|u1', 'fortran_order': True, 'shape': (2, 4), }", data), "f"),
    /Fortran-order .npy arrays are not supported/,
  );
  expectError(() => parseNpy(rawNpy("{'descr': '|u1', 'shape': (8,), }", data), "f"), /'fortran_order' missing/);
  expectError(
    () => parseNpy(rawNpy("{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (2,), }", data), "f"),
    /'descr' must be a simple dtype string/,
  );
  expectError(
    () => parseNpy(rawNpy("{'descr': '<U4', 'fortran_order': False, 'shape': (2,), }", data), "f"),
    /unsupported .npy dtype '<U4'/,
  );
  expectError(
    () => parseNpy(rawNpy("{'descr': '|u1', 'fortran_order': False, 'shape': (9,), }", data), "f"),
    /truncated: shape \(9\) of \|u1 needs 9 bytes, found 8/,
  );
  expectError(
    () => parseNpy(rawNpy("{'descr': '|u1', 'fortran_order': False, 'shape': (7,), }", data), "f"),
    /trailing data/,
  );
  const v9 = encodeNpy("|u1", [8], data);
  v9[6] = 9;
  expectError(() => parseNpy(v9, "f"), /unsupported .npy format version 9/);

  const dir = tempDir();
  const imagesFile = join(dir, "train_images.npy");
  const labelsFile = join(dir, "train_labels.npy");
  writeNpy(imagesFile, "<f4", [2, 1, 1], new Uint8Array(8));
  writeNpy(labelsFile, "|u1", [2], Uint8Array.of(0, 1));
  expectError(() => readNpySplit(dir, "train"), /images must be uint8 \('\|u1'\), found dtype '<f4'/, imagesFile);
  writeNpy(imagesFile, "|u1", [8], data);
  expectError(() => readNpySplit(dir, "train"), /shape \(N, H, W\) or \(N, H, W, C\), found \(8\)/, imagesFile);
  writeNpy(imagesFile, "|u1", [2, 1, 2, 2], data);
  expectError(() => readNpySplit(dir, "train"), /1 or 3 channels, found 2/);
  writeNpy(imagesFile, "|u1", [2, 2, 2], data);
  writeNpy(labelsFile, ">i8", [2], new Uint8Array(16));
  expectError(() => readNpySplit(dir, "train"), /labels must be integers .* found '>i8'/, labelsFile);
  writeNpy(labelsFile, "|u1", [1, 2], Uint8Array.of(0, 1));
  expectError(() => readNpySplit(dir, "train"), /labels must be one-dimensional/);
  writeNpy(labelsFile, "|u1", [3], Uint8Array.of(0, 1, 1));
  expectError(() => readNpySplit(dir, "train"), /count mismatch: 2 images but 3 labels/, labelsFile);
  writeNpy(labelsFile, "|i1", [2], Uint8Array.of(0, 255));
  expectError(() => readNpySplit(dir, "train"), /sample 1 has label -1/);
  writeNpy(labelsFile, "|u1", [2], Uint8Array.of(0, 2));
  writeFileSync(join(dir, "class_names.txt"), "a\nb\n");
  expectError(() => readNpySplit(dir, "train"), /label out of range: sample 1 has label 2, expected 0..1/);
});
