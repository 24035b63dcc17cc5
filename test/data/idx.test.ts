import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import { subset } from "../../src/data/dataset.js";
import { encodeIdx, parseIdx, readIdxSplit } from "../../src/data/idx.js";
import { loadSplit } from "../../src/data/registry.js";
import { writeDataset } from "../../src/data/write.js";
import { MARKER_FILE } from "../../src/util/ownership.js";
import { expectError, pixels, tempDir, writeIdxFixture } from "./fixtures.js";

const NAMES = Array.from({ length: 10 }, (_, i) => `c${i}`);

for (const gzip of [false, true]) {
  test(`IDX ${gzip ? "gzipped" : "plain"}: reads images and labels of both splits`, () => {
    const fx = writeIdxFixture(join(tempDir(), "mnist"), gzip);
    const train = readIdxSplit(fx.dir, "train", NAMES);
    assert.equal(train.count, 12);
    assert.deepEqual([train.height, train.width, train.channels], [8, 6, 1]);
    assert.deepEqual(train.images, fx.train.images);
    assert.deepEqual(Array.from(train.labels), Array.from(fx.train.labels));
    assert.equal(train.numClasses, 10);
    assert.equal(train.source.format, "idx");
    assert.equal(train.source.format === "idx" && train.source.gzip, gzip);
    const test = readIdxSplit(fx.dir, "test", NAMES);
    assert.equal(test.count, 5);
    assert.deepEqual(test.images, fx.test.images);
  });

  test(`IDX ${gzip ? "gzipped" : "plain"}: an unchanged dataset is written back byte-identical`, () => {
    const root = tempDir();
    const fx = writeIdxFixture(join(root, "in"), gzip);
    const splits = { train: loadSplit(`mnist:${fx.dir}`, "train"), test: loadSplit(`mnist:${fx.dir}`, "test") };
    writeDataset(join(root, "out"), splits);
    const names = readdirSync(fx.dir).sort();
    assert.deepEqual(readdirSync(join(root, "out")).sort(), [MARKER_FILE, ...names].sort());
    for (const name of names) {
      assert.deepEqual(readFileSync(join(root, "out", name)), readFileSync(join(fx.dir, name)), name);
    }
  });
}

test("IDX: gzip is recognised by its magic bytes, not the file name", () => {
  const dir = tempDir();
  const images = pixels(2 * 3 * 3);
  // A plain file under a .gz name and a gzipped file under a plain name.
  writeFileSync(join(dir, "train-images-idx3-ubyte.gz"), encodeIdx([2, 3, 3], images));
  writeFileSync(join(dir, "train-labels-idx1-ubyte"), gzipSync(encodeIdx([2], Uint8Array.of(4, 1))));
  const ds = readIdxSplit(dir, "train", NAMES);
  assert.deepEqual(ds.images, images);
  assert.deepEqual(Array.from(ds.labels), [4, 1]);
});

test("IDX: a modified (poisoned) dataset is written in the input format and reads back identically", () => {
  const root = tempDir();
  const fx = writeIdxFixture(join(root, "in"), true);
  const train = loadSplit(`mnist:${fx.dir}`, "train");
  const poisoned = { ...train, images: train.images!.map((v) => 255 - v) };
  writeDataset(join(root, "out"), { train: poisoned });
  const back = loadSplit(`mnist:${join(root, "out")}`, "train");
  assert.deepEqual(back.images, poisoned.images);
  assert.deepEqual(back.labels, train.labels);
  // The untouched labels file is still the original, byte for byte; the images are new gzip data.
  const labels = "train-labels-idx1-ubyte.gz";
  assert.deepEqual(readFileSync(join(root, "out", labels)), readFileSync(join(fx.dir, labels)));
  assert.equal(back.source.format === "idx" && back.source.gzip, true);
});

test("IDX: a subset is written as a smaller IDX dataset", () => {
  const root = tempDir();
  const fx = writeIdxFixture(join(root, "in"), false);
  const small = subset(loadSplit(`mnist:${fx.dir}`, "train"), 3);
  writeDataset(join(root, "out"), { train: small });
  const back = loadSplit(`mnist:${join(root, "out")}`, "train");
  assert.equal(back.count, 3);
  assert.deepEqual(back.images, fx.train.images.subarray(0, 3 * 48));
});

test("IDX errors: wrong magic, bad element type, truncation, trailing data, wrong dimensions", () => {
  const good = encodeIdx([2, 2, 2], pixels(8));
  expectError(() => parseIdx(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), "f"), /bad magic number 0x01020304/, "f");
  const float = good.slice();
  float[2] = 0x0d;
  expectError(() => parseIdx(float, "f"), /element type 0xd is not supported/);
  expectError(
    () => parseIdx(good.subarray(0, good.length - 1), "f"),
    /truncated: dimensions 2x2x2 need 24 bytes, found 23/,
  );
  expectError(() => parseIdx(Uint8Array.of(0, 0, 8, 3, 0, 0), "f"), /truncated IDX header/);
  expectError(() => parseIdx(Uint8Array.from([...good, 0]), "f"), /trailing data/);
  expectError(() => parseIdx(Uint8Array.of(0, 0), "f"), /too short/);

  const dir = tempDir();
  writeFileSync(join(dir, "train-images-idx3-ubyte"), encodeIdx([4, 2], pixels(8)));
  writeFileSync(join(dir, "train-labels-idx1-ubyte"), encodeIdx([4], Uint8Array.of(0, 1, 2, 3)));
  expectError(() => readIdxSplit(dir, "train", NAMES), /must have 3 dimensions/, join(dir, "train-images-idx3-ubyte"));
});

test("IDX errors: count mismatch, label out of range, corrupt gzip, missing files", () => {
  const dir = tempDir();
  const labelsFile = join(dir, "train-labels-idx1-ubyte");
  writeFileSync(join(dir, "train-images-idx3-ubyte"), encodeIdx([3, 2, 2], pixels(12)));
  writeFileSync(labelsFile, encodeIdx([2], Uint8Array.of(0, 1)));
  expectError(() => readIdxSplit(dir, "train", NAMES), /count mismatch: 3 images .* but 2 labels/, labelsFile);
  writeFileSync(labelsFile, encodeIdx([3], Uint8Array.of(0, 10, 1)));
  expectError(() => readIdxSplit(dir, "train", NAMES), /label out of range: sample 1 has label 10, expected 0..9/);
  const gz = gzipSync(encodeIdx([3], Uint8Array.of(0, 1, 2)));
  writeFileSync(labelsFile, gz.subarray(0, gz.length - 6));
  expectError(() => readIdxSplit(dir, "train", NAMES), /corrupt or truncated gzip/, labelsFile);
  expectError(() => readIdxSplit(dir, "test", NAMES), /no IDX test files \(t10k-images-idx3-ubyte\[\.gz\]/, dir);
});
