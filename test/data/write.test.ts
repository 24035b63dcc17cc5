import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { writeDirectoryAtomic } from "../../src/data/atomic.js";
import { DatasetError } from "../../src/data/errors.js";
import { loadSplit } from "../../src/data/registry.js";
import { writeDataset } from "../../src/data/write.js";
import { tempDir, writeCifar10Fixture, writeIdxFixture } from "./fixtures.js";

test("write: an existing output is kept unless force is given, and the error mentions --force", () => {
  const root = tempDir();
  const fx = writeIdxFixture(join(root, "in"), false);
  const train = loadSplit(`mnist:${fx.dir}`, "train");
  const out = join(root, "out");
  mkdirSync(out);
  writeFileSync(join(out, "keep.txt"), "mine");
  assert.throws(
    () => writeDataset(out, { train }),
    (e: unknown) => e instanceof DatasetError && /already exists; pass --force/.test(e.message) && e.path === out,
  );
  assert.deepEqual(readdirSync(out), ["keep.txt"]);
  writeDataset(out, { train }, { force: true });
  assert.deepEqual(readdirSync(out).sort(), ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"]);
  assert.deepEqual(readdirSync(root).sort(), ["in", "out"], "no temporary directories left");
});

test("write: a failure part-way leaves no output and no temporary directory", () => {
  const root = tempDir();
  const out = join(root, "out");
  assert.throws(
    () =>
      writeDirectoryAtomic(out, false, (dir) => {
        writeFileSync(join(dir, "half.bin"), "partial");
        throw new Error("disk full");
      }),
    /disk full/,
  );
  assert.deepEqual(readdirSync(root), []);
  // With force over an existing output, the old output survives a failed write untouched.
  mkdirSync(out);
  writeFileSync(join(out, "old.bin"), "old");
  assert.throws(() =>
    writeDirectoryAtomic(out, true, () => {
      throw new Error("crash");
    }),
  );
  assert.deepEqual(readdirSync(root), ["out"]);
  assert.equal(readFileSync(join(out, "old.bin"), "utf-8"), "old");
});

test("write: npy and folder on request, from CIFAR; both read back identical", () => {
  const root = tempDir();
  writeCifar10Fixture(join(root, "c10"), 2, 3);
  const train = loadSplit(`cifar10:${join(root, "c10")}`, "train");
  const testSplit = loadSplit(`cifar10:${join(root, "c10")}`, "test");
  writeDataset(join(root, "npy"), { train, test: testSplit }, { format: "npy" });
  const npyTrain = loadSplit(`npy:${join(root, "npy")}`, "train");
  assert.deepEqual(npyTrain.images, train.images);
  assert.deepEqual(npyTrain.labels, train.labels);
  assert.deepEqual(npyTrain.classNames, train.classNames);
  assert.equal(npyTrain.channels, 3);
  assert.equal(npyTrain.source.format === "npy" && npyTrain.source.imagesNdim, 4);

  writeDataset(join(root, "png"), { train }, { format: "folder" });
  // CIFAR-10's names are valid and already sorted: they are used as they are.
  assert.deepEqual(readdirSync(join(root, "png", "train")).slice(0, 2), ["airplane", "automobile"]);
  const folder = loadSplit(`folder:${join(root, "png")}`, "train");
  assert.deepEqual(folder.classNames, train.classNames);
  const order = Array.from(train.labels.keys()).sort((a, b) => train.labels[a]! - train.labels[b]! || a - b);
  assert.deepEqual(
    Array.from(folder.labels),
    order.map((i) => train.labels[i]!),
  );
  for (const [k, i] of order.entries()) {
    assert.deepEqual(folder.images.subarray(k * 3072, (k + 1) * 3072), train.images.subarray(i * 3072, (i + 1) * 3072));
  }
});

test("write: refuses what it cannot write consistently", () => {
  const root = tempDir();
  const fx = writeIdxFixture(join(root, "idx"), false);
  writeCifar10Fixture(join(root, "c10"), 1, 2);
  const idx = loadSplit(`mnist:${fx.dir}`, "train");
  const cifar = loadSplit(`cifar10:${join(root, "c10")}`, "test");
  assert.throws(() => writeDataset(join(root, "a"), {}), /nothing to write/);
  const short = { ...idx, images: idx.images.subarray(1) };
  assert.throws(() => writeDataset(join(root, "a"), { train: short }), /train split to write: holds 575 image bytes/);
  assert.throws(
    () => writeDataset(join(root, "b"), { train: idx, test: cifar }),
    /train split is idx but test split is cifar10/,
  );
  assert.throws(
    () => writeDataset(join(root, "c"), { train: idx, test: { ...cifar, source: idx.source } }, { format: "npy" }),
    /different class names/,
  );
  assert.deepEqual(readdirSync(root).sort(), ["c10", "idx"]);
});
