import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { subset } from "../../src/data/dataset.js";
import { DatasetError } from "../../src/data/errors.js";
import {
  candidateDirs,
  DEBIAN_FASHION_MNIST_DIR,
  FASHION_MNIST_CLASS_NAMES,
  loadDataset,
  loadSplit,
  parseSpec,
} from "../../src/data/registry.js";
import { needs } from "../requirements.js";
import { tempDir, writeCifar10Fixture, writeIdxFixture } from "./fixtures.js";

test("spec strings: names, optional paths, unknown names", () => {
  assert.deepEqual(parseSpec("fashion-mnist"), { name: "fashion-mnist", path: undefined });
  assert.deepEqual(parseSpec("CIFAR10:/data/c10"), { name: "cifar10", path: "/data/c10" });
  assert.deepEqual(parseSpec("folder:C:/imgs"), { name: "folder", path: "C:/imgs" });
  assert.throws(() => parseSpec("imagenet"), /unknown dataset "imagenet"; expected one of fashion-mnist, mnist/);
  assert.throws(() => parseSpec("npy:"), /empty path/);
});

test("data directories: explicit path only, else $ADVPOISON_DATA, Debian's directory, the cache", () => {
  const saved = process.env.ADVPOISON_DATA;
  try {
    process.env.ADVPOISON_DATA = "/srv/data";
    assert.deepEqual(candidateDirs(parseSpec("fashion-mnist:/x")), ["/x"]);
    assert.deepEqual(candidateDirs(parseSpec("cifar10"), { dataDir: "/y" }), ["/y"]);
    const dirs = candidateDirs(parseSpec("fashion-mnist"));
    assert.deepEqual(dirs, ["/srv/data/fashion-mnist", DEBIAN_FASHION_MNIST_DIR]);
    delete process.env.ADVPOISON_DATA;
    assert.deepEqual(candidateDirs(parseSpec("cifar100")), [join(homedir(), ".cache", "advpoison", "cifar100")]);
    assert.deepEqual(candidateDirs(parseSpec("npy")), []);
  } finally {
    if (saved === undefined) delete process.env.ADVPOISON_DATA;
    else process.env.ADVPOISON_DATA = saved;
  }
});

test("a missing dataset says where it looked and how to get it", () => {
  const missing = join(tempDir(), "nowhere");
  const check = (spec: string, pattern: RegExp) =>
    assert.throws(
      () => loadSplit(spec, "train", { dataDir: missing }),
      (e: unknown) => e instanceof DatasetError && pattern.test(e.message) && e.message.includes(missing),
    );
  check(
    "fashion-mnist",
    /not found: looked for train-images-idx3-ubyte\[\.gz\].*apt-get install dataset-fashion-mnist/,
  );
  check("cifar10", /https:\/\/www\.cs\.toronto\.edu\/~kriz\/cifar-10-binary\.tar\.gz.*--data-dir/);
  check("cifar100", /cifar-100-binary\.tar\.gz/);
  check("npy", /train_images\.npy/);
  assert.throws(() => loadSplit("folder", "train"), /needs a directory.*folder:PATH/);
});

test("named datasets load both splits with their class names; subset takes the first n", () => {
  const root = tempDir();
  writeIdxFixture(join(root, "fm"), true, 12, 5);
  const { train, test: testSplit } = loadDataset(`fashion-mnist:${join(root, "fm")}`);
  assert.equal(train.classNames[0], "T-shirt/top");
  assert.equal(train.classNames[9], "Ankle boot");
  assert.equal(testSplit.count, 5);
  assert.deepEqual(loadSplit("mnist", "train", { dataDir: join(root, "fm") }).classNames, [..."0123456789"]);

  const small = subset(train, 4);
  assert.equal(small.count, 4);
  assert.deepEqual(small.images!, train.images!.subarray(0, 4 * 48));
  assert.deepEqual(small.labels, train.labels.subarray(0, 4));
  assert.equal(subset(train, 12), train);
  assert.equal(subset(train, 0).count, 0);
  assert.throws(() => subset(train, 13), /subset of 13 images asked for, but the dataset has only 12/);
  assert.throws(() => subset(train, -1), /non-negative integer/);

  writeCifar10Fixture(join(root, "c10"), 2, 3);
  const c10 = loadSplit("cifar10", "train", { dataDir: join(root, "c10") });
  assert.equal(c10.count, 6);
});

test("the real Fashion-MNIST loads: 60000 + 10000 images of 28x28, 10 classes", {
  skip: needs(existsSync(DEBIAN_FASHION_MNIST_DIR), `Fashion-MNIST (${DEBIAN_FASHION_MNIST_DIR})`),
}, () => {
  const start = performance.now();
  const { train, test: testSplit } = loadDataset(`fashion-mnist:${DEBIAN_FASHION_MNIST_DIR}`);
  const seconds = (performance.now() - start) / 1000;
  assert.deepEqual([train.count, train.height, train.width, train.channels], [60000, 28, 28, 1]);
  assert.equal(testSplit.count, 10000);
  assert.equal(train.numClasses, 10);
  assert.deepEqual(train.classNames, FASHION_MNIST_CLASS_NAMES);
  // The published first training labels: Ankle boot, T-shirt/top, T-shirt/top, Dress, T-shirt/top.
  assert.deepEqual(Array.from(train.labels.subarray(0, 5)), [9, 0, 0, 3, 0]);
  const perClass = new Array<number>(10).fill(0);
  for (const l of train.labels) perClass[l]!++;
  assert.deepEqual(perClass, new Array(10).fill(6000));
  assert.ok(seconds < 2, `loading took ${seconds.toFixed(2)} s`);
});
