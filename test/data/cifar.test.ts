import assert from "node:assert/strict";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { readCifarSplit } from "../../src/data/cifar.js";
import { imageBytes, subset } from "../../src/data/dataset.js";
import { loadSplit } from "../../src/data/registry.js";
import { writeDataset } from "../../src/data/write.js";
import { MARKER_FILE } from "../../src/util/ownership.js";
import { cifarRecords, expectError, tempDir, writeCifar10Fixture, writeCifar100Fixture } from "./fixtures.js";

/** Pixel (y, x) channel c of a planar CHW record image. */
const planarAt = (planar: Uint8Array, y: number, x: number, c: number) => planar[c * 1024 + y * 32 + x]!;

test("CIFAR-10: reads all training batches in order, converting CHW records to HWC", () => {
  const dir = tempDir();
  writeCifar10Fixture(dir, 3, 4);
  const ds = readCifarSplit(dir, "cifar10", "train");
  assert.equal(ds.count, 12);
  assert.deepEqual([ds.height, ds.width, ds.channels, ds.numClasses], [32, 32, 3, 10]);
  assert.deepEqual(Array.from(ds.labels.subarray(0, 5)), [3, 4, 5, 6, 6]);
  assert.equal(ds.classNames[9], "truck");
  // Record 5 is the second record of batch 2.
  const { planar } = cifarRecords([[0], [0]], 2);
  const image = imageBytes(ds, 5);
  for (const [y, x, c] of [
    [0, 0, 0],
    [0, 1, 2],
    [17, 30, 1],
    [31, 31, 2],
  ] as const) {
    assert.equal(image[(y * 32 + x) * 3 + c], planarAt(planar[1]!, y, x, c), `pixel ${y},${x},${c}`);
  }
  assert.deepEqual(ds.source.format === "cifar10" && ds.source.batchSizes, [4, 4, 4]);
  const t = readCifarSplit(dir, "cifar10", "test");
  assert.deepEqual(Array.from(t.labels), [1, 9, 0]);
});

test("CIFAR-10: the archive's cifar-10-batches-bin subdirectory is found, and names default without meta", () => {
  const root = tempDir();
  writeCifar10Fixture(join(root, "cifar-10-batches-bin"), 1, 2);
  rmSync(join(root, "cifar-10-batches-bin", "batches.meta.txt"));
  const ds = loadSplit(`cifar10:${root}`, "train");
  assert.equal(ds.count, 2);
  assert.equal(ds.classNames[0], "airplane");
});

test("CIFAR-10: written back byte-identical, same batch split; a subset keeps batch sizes in order", () => {
  const root = tempDir();
  const src = join(root, "in");
  writeCifar10Fixture(src, 3, 4);
  const splits = { train: loadSplit(`cifar10:${src}`, "train"), test: loadSplit(`cifar10:${src}`, "test") };
  writeDataset(join(root, "out"), splits);
  const names = readdirSync(src).sort();
  assert.deepEqual(readdirSync(join(root, "out")).sort(), [MARKER_FILE, ...names].sort());
  for (const name of names)
    assert.deepEqual(readFileSync(join(root, "out", name)), readFileSync(join(src, name)), name);

  writeDataset(join(root, "sub"), { train: subset(splits.train, 6) });
  assert.deepEqual(readdirSync(join(root, "sub")).sort(), [
    MARKER_FILE,
    "batches.meta.txt",
    "data_batch_1.bin",
    "data_batch_2.bin",
  ]);
  assert.equal(readFileSync(join(root, "sub", "data_batch_2.bin")).length, 2 * 3073);
  const back = readCifarSplit(join(root, "sub"), "cifar10", "train");
  assert.deepEqual(back.images!, splits.train.images!.subarray(0, 6 * 3072));
  assert.deepEqual(back.labels, splits.train.labels.subarray(0, 6));
});

for (const kind of ["fine", "coarse"] as const) {
  test(`CIFAR-100 (${kind} labels): reads labels and names, and writes back byte-identical`, () => {
    const root = tempDir();
    const src = join(root, "in");
    writeCifar100Fixture(src);
    const train = loadSplit(`cifar100:${src}`, "train", { labels: kind });
    const testSplit = loadSplit(`cifar100:${src}`, "test", { labels: kind });
    const expected = kind === "fine" ? [0, 17, 34, 51, 68, 85] : [0, 1, 2, 3, 4, 5];
    assert.deepEqual(Array.from(train.labels), expected);
    assert.equal(train.numClasses, kind === "fine" ? 100 : 20);
    assert.equal(train.classNames[1], kind === "fine" ? "fine01" : "coarse01");
    assert.deepEqual(Array.from(testSplit.labels), kind === "fine" ? [99, 0] : [19, 0]);
    writeDataset(join(root, "out"), { train, test: testSplit });
    for (const name of readdirSync(src)) {
      assert.deepEqual(readFileSync(join(root, "out", name)), readFileSync(join(src, name)), name);
    }
    // A changed image changes only that record's image bytes.
    const images = train.images!.slice();
    images[0] = images[0]! ^ 0xff;
    writeDataset(join(root, "poisoned"), { train: { ...train, images } });
    const diff = [...readFileSync(join(root, "poisoned", "train.bin"))]
      .map((b, i) => (b === readFileSync(join(src, "train.bin"))[i] ? -1 : i))
      .filter((i) => i >= 0);
    assert.deepEqual(diff, [2]);
  });
}

test("CIFAR errors: truncated batch, label out of range, bad meta, missing test batch, batch gap", () => {
  const dir = tempDir();
  writeCifar10Fixture(dir, 2, 2);
  const batch1 = join(dir, "data_batch_1.bin");
  const good = readFileSync(batch1);
  writeFileSync(batch1, good.subarray(0, good.length - 100));
  expectError(() => readCifarSplit(dir, "cifar10", "train"), /truncated or corrupt cifar10 batch: 6046 bytes/, batch1);
  writeFileSync(batch1, new Uint8Array(0));
  expectError(() => readCifarSplit(dir, "cifar10", "train"), /0 bytes/, batch1);
  const badLabel = Uint8Array.from(good);
  badLabel[3073] = 10;
  writeFileSync(batch1, badLabel);
  expectError(
    () => readCifarSplit(dir, "cifar10", "train"),
    /label out of range: record 1 has label 10, expected 0..9/,
    batch1,
  );
  writeFileSync(batch1, good);
  const batch2 = join(dir, "data_batch_2.bin");
  const second = readFileSync(batch2);
  writeFileSync(
    batch2,
    Uint8Array.from(second, (b, i) => (i === 0 ? 200 : b)),
  );
  expectError(() => readCifarSplit(dir, "cifar10", "train"), /record 0 has label 200/, batch2);
  writeFileSync(batch2, second);
  writeFileSync(join(dir, "batches.meta.txt"), "cat\ndog\n");
  expectError(() => readCifarSplit(dir, "cifar10", "train"), /expected 10 class names, found 2/);
  rmSync(join(dir, "batches.meta.txt"));
  rmSync(join(dir, "test_batch.bin"));
  expectError(() => readCifarSplit(dir, "cifar10", "test"), /no cifar10 test batch/, dir);
  writeFileSync(join(dir, "data_batch_4.bin"), good);
  expectError(() => readCifarSplit(dir, "cifar10", "train"), /data_batch_3.bin is missing but later batches exist/);

  const c100 = tempDir();
  writeCifar100Fixture(c100);
  const train = readFileSync(join(c100, "train.bin"));
  train[1] = 100; // fine label of record 0
  writeFileSync(join(c100, "train.bin"), train);
  expectError(
    () => readCifarSplit(c100, "cifar100", "train", "fine"),
    /label out of range: record 0 has label 100, expected 0..99/,
    join(c100, "train.bin"),
  );
  expectError(() => readCifarSplit(c100, "cifar100", "train", "coarse"), /record 0 has label 100, expected 0..99/);
  train[1] = 5;
  train[3074] = 20; // coarse label of record 1
  writeFileSync(join(c100, "train.bin"), train);
  expectError(() => readCifarSplit(c100, "cifar100", "train", "fine"), /record 1 has label 20, expected 0..19/);
});
