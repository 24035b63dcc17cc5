// Readers facing hostile or broken files: decompression bombs, labels that imply absurd class counts, splits
// whose class lists disagree, image headers announcing gigapixels. Each is a clear DatasetError naming the
// file, raised before anything large is allocated.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import { decodeMaybeGzip } from "../../src/data/files.js";
import { readFolderSplit } from "../../src/data/folder.js";
import { encodeIdx, readIdxSplit } from "../../src/data/idx.js";
import { decodeImage, encodePng } from "../../src/data/image.js";
import { readNpySplit } from "../../src/data/npy.js";
import {
  expectError,
  gzipBomb,
  jpegClaiming,
  pixels,
  pngHeader,
  tempDir,
  writeIdxFixture,
  writeNpy,
} from "./fixtures.js";

const NAMES = Array.from({ length: 10 }, (_, i) => `c${i}`);
const MB = 2 ** 20;

/** Growth of the process's peak resident memory while `fn` runs, in MiB. */
function peakGrowthMiB(fn: () => void): number {
  const before = process.resourceUsage().maxRSS;
  fn();
  return (process.resourceUsage().maxRSS - before) / 1024;
}

// First in the file, so that the peak RSS before it is not already inflated by other tests.
test("gzip bomb: 1.5 GB of zeros in a 1.5 MB .gz is rejected by its header, memory stays bounded", () => {
  const fx = writeIdxFixture(join(tempDir(), "mnist"), true);
  const labelsFile = join(fx.dir, "train-labels-idx1-ubyte.gz");
  const bomb = gzipBomb(1.5e9);
  assert.ok(bomb.length < 2 * MB, `the bomb is ${bomb.length} bytes`);
  writeFileSync(labelsFile, bomb);
  const growth = peakGrowthMiB(() =>
    expectError(() => readIdxSplit(fx.dir, "train", NAMES), /not an IDX file: bad magic number/, labelsFile),
  );
  assert.ok(growth < 100, `peak RSS grew by ${growth.toFixed(0)} MiB`);
});

test("gzip bomb behind a valid IDX header: the header's size, not the trailer's, bounds decompression", () => {
  const fx = writeIdxFixture(join(tempDir(), "mnist"), true);
  const labelsFile = join(fx.dir, "train-labels-idx1-ubyte.gz");
  // A header for 12 labels, then 1.5 GB of zeros: the trailer (honestly) announces 1.5 GB.
  writeFileSync(labelsFile, gzipBomb(1.5e9, encodeIdx([12], new Uint8Array(0))));
  const growth = peakGrowthMiB(() =>
    expectError(
      () => readIdxSplit(fx.dir, "train", NAMES),
      /header announces 20 bytes but the gzip trailer 1500000000/,
      labelsFile,
    ),
  );
  assert.ok(growth < 100, `peak RSS grew by ${growth.toFixed(0)} MiB`);
  // A header announcing 10^15 bytes is refused by the limit, whatever the trailer says.
  writeFileSync(labelsFile, gzipBomb(4 * MB, encodeIdx([100000, 100000, 100000], new Uint8Array(0))));
  expectError(() => readIdxSplit(fx.dir, "train", NAMES), /announces 1000000000000016 bytes, more than the/);
});

test("gzip: a trailer that understates the content stops decompression at the announced size", () => {
  const dir = tempDir();
  const content = encodeIdx([4096], new Uint8Array(4096));
  const gz = gzipSync(Buffer.concat([content, new Uint8Array(MB)]));
  // Header and trailer agree on 4104 bytes; the stream holds 1 MiB more.
  new DataView(gz.buffer, gz.byteOffset, gz.byteLength).setUint32(gz.length - 4, content.length, true);
  writeFileSync(join(dir, "data.gz"), gz);
  expectError(
    () => decodeMaybeGzip(new Uint8Array(gz), join(dir, "data.gz"), { announcedSize: () => content.length }),
    /decompresses to more than the 4104 bytes announced/,
  );
  // Without a format header the trailer alone bounds it, and a bomb's honest trailer meets the 1 GiB limit.
  expectError(() => decodeMaybeGzip(new Uint8Array(gz), "x.gz"), /decompresses to more than the 4104 bytes/);
  expectError(() => decodeMaybeGzip(gzipBomb(1.5e9), "bomb.gz"), /announces 1500000000 bytes, more than the/);
  // Truncated: the last bytes are no trailer, and inflating fails.
  const whole = gzipSync(content);
  expectError(() => decodeMaybeGzip(whole.subarray(0, whole.length - 6), "t.gz"), /truncated/);
});

function npyDataset(dir: string, trainLabels: number[], testLabels: number[]): void {
  mkdirSync(dir, { recursive: true });
  const put = (split: string, labels: number[]) => {
    writeNpy(join(dir, `${split}_images.npy`), "|u1", [labels.length, 2, 2], pixels(labels.length * 4));
    writeNpy(join(dir, `${split}_labels.npy`), "<i4", [labels.length], new Uint8Array(Int32Array.from(labels).buffer));
  };
  put("train", trainLabels);
  put("test", testLabels);
}

test("npy without class_names.txt: a stray label is named instead of building 2^31 or 201 classes", () => {
  const dir = tempDir();
  const labels = [0, 1, 2, 0, 1, 2, 0, 1];
  npyDataset(dir, [...labels.slice(0, 3), 2147483647, ...labels.slice(4)], [0, 1, 2]);
  expectError(
    () => readNpySplit(dir, "train"),
    /sample 3 has label 2147483647, which would make 2147483648 classes \(at most 11 without class_names.txt/,
    join(dir, "train_labels.npy"),
  );
  // In the other split: reading train names the test file's label.
  npyDataset(dir, labels, [0, 200, 1]);
  expectError(() => readNpySplit(dir, "train"), /sample 1 has label 200/, join(dir, "test_labels.npy"));
  // Declared classes are trusted: 201 names make label 200 valid.
  writeFileSync(join(dir, "class_names.txt"), `${Array.from({ length: 201 }, (_, i) => `k${i}`).join("\n")}\n`);
  assert.equal(readNpySplit(dir, "train").numClasses, 201);
  // Without names, labels within the bound number the classes as before.
  npyDataset(join(dir, "plain"), labels, [0, 1, 2]);
  assert.deepEqual(readNpySplit(join(dir, "plain"), "test").classNames, ["0", "1", "2"]);
});

function folderTree(root: string, files: string[]): void {
  for (const [i, path] of files.entries()) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), encodePng(pixels(4 * 4 * 3, i), 4, 4, 3));
  }
}

test("folder: test/ is numbered by train/'s classes; a test-only class is an error", () => {
  const dir = tempDir();
  folderTree(dir, ["train/ant/1.png", "train/bee/2.png", "train/cat/3.png", "test/ant/4.png", "test/cat/5.png"]);
  const trainSplit = readFolderSplit(dir, "train");
  const testSplit = readFolderSplit(dir, "test");
  assert.deepEqual(testSplit.classNames, ["ant", "bee", "cat"]);
  assert.deepEqual(testSplit.classNames, trainSplit.classNames);
  // Numbered by its own directories, "cat" would be class 1 here, i.e. "bee" in train.
  assert.deepEqual(Array.from(testSplit.labels), [0, 2]);
  folderTree(dir, ["test/dog/6.png"]);
  expectError(() => readFolderSplit(dir, "test"), /class 'dog' of test\/ is not a class of train\/ \(3 classes\)/);
});

test("images whose header claims gigapixels are rejected by size before decoding (PNG, JPEG)", () => {
  const growth = peakGrowthMiB(() => {
    expectError(
      () => decodeImage(pngHeader(100000, 100000), "huge.png"),
      /claims 100000x100000 = 10000000000 pixels, more than the 89478485-pixel limit/,
      "huge.png",
    );
    expectError(() => decodeImage(jpegClaiming(60000, 60000), "huge.jpg"), /claims 60000x60000 = 3600000000 pixels/);
  });
  assert.ok(growth < 100, `peak RSS grew by ${growth.toFixed(0)} MiB`);
  // The rewritten JPEG is otherwise sound: at a plausible size the same bytes decode.
  assert.equal(decodeImage(jpegClaiming(8, 8), "ok.jpg").width, 8);
});
