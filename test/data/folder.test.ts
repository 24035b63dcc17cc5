import assert from "node:assert/strict";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { type Dataset, imageBytes, readRange } from "../../src/data/dataset.js";
import { DatasetError } from "../../src/data/errors.js";
import { readImageFolder } from "../../src/data/folder.js";
import { readIdxSplit } from "../../src/data/idx.js";
import { encodePng } from "../../src/data/image.js";
import { FASHION_MNIST_CLASS_NAMES, loadSplit } from "../../src/data/registry.js";
import { writeDataset } from "../../src/data/write.js";
import { byteDifference, hasPil, pil } from "../pil.js";
import { needs } from "../requirements.js";
import { grayJpeg, jpegBytes, pixels, tempDir, writeIdxFixture } from "./fixtures.js";

function makeTree(root: string, files: Record<string, Uint8Array>): void {
  for (const [path, bytes] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), bytes);
  }
}

const png = (image: Uint8Array, h: number, w: number, c: number) => encodePng(image, h, w, c);

test("folder: classes in plain sorted order, files sorted, PNG pixels exact, hidden entries skipped", () => {
  const root = tempDir();
  const images = [0, 1, 2, 3].map((i) => pixels(4 * 5 * 3, i));
  makeTree(root, {
    "dog/b.png": png(images[0]!, 4, 5, 3),
    "dog/a.png": png(images[1]!, 4, 5, 3),
    "Zebra/z.png": png(images[2]!, 4, 5, 3),
    "cat/x.PNG": png(images[3]!, 4, 5, 3),
    "cat/notes.txt": Buffer.from("not an image"),
    ".ipynb_checkpoints/c.png": png(images[0]!, 4, 5, 3),
  });
  const ds = readImageFolder(root);
  assert.deepEqual(ds.classNames, ["Zebra", "cat", "dog"]);
  assert.deepEqual(Array.from(ds.labels), [0, 1, 2, 2]);
  assert.deepEqual([ds.count, ds.height, ds.width, ds.channels], [4, 4, 5, 3]);
  assert.deepEqual(imageBytes(ds, 0), images[2]);
  assert.deepEqual(imageBytes(ds, 1), images[3]);
  assert.deepEqual(imageBytes(ds, 2), images[1]); // dog/a.png before dog/b.png
  assert.deepEqual(imageBytes(ds, 3), images[0]);
  assert.deepEqual(ds.source.format === "folder" && ds.source.fileNames, ["z.png", "x.PNG", "a.png", "b.png"]);
});

test("folder: grayscale files give 1 channel; any RGB file makes the dataset RGB", () => {
  const gray = tempDir();
  const g = pixels(3 * 3, 7);
  makeTree(gray, { "a/1.png": png(g, 3, 3, 1), "b/2.png": png(pixels(9, 8), 3, 3, 1) });
  const ds = readImageFolder(gray);
  assert.equal(ds.channels, 1);
  assert.deepEqual(imageBytes(ds, 0), g);

  const mixed = tempDir();
  const rgb = pixels(27, 9);
  makeTree(mixed, { "a/1.png": png(g, 3, 3, 1), "b/2.png": png(rgb, 3, 3, 3) });
  const m = readImageFolder(mixed);
  assert.equal(m.channels, 3);
  assert.deepEqual(Array.from(imageBytes(m, 0).subarray(0, 6)), [g[0], g[0], g[0], g[1], g[1], g[1]]);
  assert.deepEqual(imageBytes(m, 1), rgb);
});

test("folder: JPEG files decode as PIL decodes them (python3-pil), close to the original pixels", {
  skip: needs(hasPil, "python3-pil"),
}, () => {
  const root = tempDir();
  const smooth = Uint8Array.from({ length: 24 * 32 * 3 }, (_, i) => 40 + ((i / 3) | 0) / 5 + (i % 3) * 30);
  const bytes = jpegBytes(smooth, 24, 32);
  makeTree(root, { "a/photo.jpg": bytes, "b/photo.jpeg": bytes });
  const ds = readImageFolder(root);
  assert.equal(ds.channels, 3);
  // libjpeg (PIL) and jpeg-js differ in IDCT rounding and chroma upsampling: a level or two (measured: 2).
  const reference = pil(
    'sys.stdout.buffer.write(Image.open(io.BytesIO(sys.stdin.buffer.read())).convert("RGB").tobytes())',
    bytes,
  );
  for (const i of [0, 1]) {
    const d = byteDifference(imageBytes(ds, i), reference);
    assert.ok(d.max <= 3 && d.mean < 0.5, `image ${i}: max ${d.max}, mean ${d.mean} from PIL`);
  }
  // A one-component JPEG: exact (no chroma), read as one grey channel.
  const grayRoot = tempDir();
  makeTree(grayRoot, { "a/gray.jpg": grayJpeg() });
  const gray = pil(
    'sys.stdout.buffer.write(Image.open(io.BytesIO(sys.stdin.buffer.read())).convert("L").tobytes())',
    grayJpeg(),
  );
  assert.deepEqual(imageBytes(readImageFolder(grayRoot), 0), gray);
  const maxError = imageBytes(ds, 1).reduce((m, v, i) => Math.max(m, Math.abs(v - smooth[i]!)), 0);
  assert.ok(maxError <= 8, `JPEG error ${maxError}`);
});

test("folder: a one-component JPEG counts as grayscale, a color JPEG as RGB", () => {
  const root = tempDir();
  makeTree(root, { "a/1.jpg": grayJpeg(), "a/2.png": png(pixels(64, 1), 8, 8, 1) });
  const ds = readImageFolder(root);
  assert.equal(ds.channels, 1);
  assert.deepEqual(imageBytes(ds, 0), new Uint8Array(64).fill(138));
  makeTree(root, { "b/3.jpg": jpegBytes(new Uint8Array(8 * 8 * 3).fill(138), 8, 8) });
  assert.equal(readImageFolder(root).channels, 3);
});

test("folder: resize (shorter side) and center crop bring mixed sizes to one", () => {
  const root = tempDir();
  makeTree(root, {
    "a/wide.png": png(pixels(8 * 12 * 3, 1), 8, 12, 3),
    "b/tall.png": png(pixels(12 * 8 * 3, 2), 12, 8, 3),
  });
  assert.throws(() => readImageFolder(root), /mixed image sizes: 12x8, but .*wide.png is 8x12/);
  const ds = readImageFolder(root, { resize: 6, crop: 6 });
  assert.deepEqual([ds.count, ds.height, ds.width], [2, 6, 6]);
  const cropOnly = readImageFolder(root, { crop: 8 });
  assert.deepEqual([cropOnly.height, cropOnly.width], [8, 8]);
  // The center crop of the wide image is its columns 2..9.
  const wide = pixels(8 * 12 * 3, 1);
  assert.deepEqual(imageBytes(cropOnly, 0).subarray(0, 24), wide.subarray(2 * 3, 10 * 3));
  assert.throws(() => readImageFolder(root, { crop: 9 }), /smaller than the 9x9 crop/);
});

test("folder errors: unreadable and truncated images name the file; empty trees are refused", () => {
  const root = tempDir();
  const good = png(pixels(12, 1), 2, 2, 3);
  makeTree(root, { "a/ok.png": good, "a/bad.png": Buffer.from("garbage, not a picture") });
  assert.throws(
    () => readImageFolder(root),
    (e: unknown) =>
      e instanceof DatasetError && e.path === join(root, "a", "bad.png") && /neither PNG nor JPEG/.test(e.message),
  );
  writeFileSync(join(root, "a", "bad.png"), good.subarray(0, 40));
  assert.throws(() => readImageFolder(root), /bad.png: unreadable image/);
  writeFileSync(join(root, "a", "bad.png"), jpegBytes(pixels(12, 1), 2, 2).subarray(0, 30));
  assert.throws(() => readImageFolder(root), /bad.png: unreadable image/);

  const empty = tempDir();
  assert.throws(() => readImageFolder(empty), /no class directories/);
  mkdirSync(join(empty, "a"));
  assert.throws(() => readImageFolder(empty), /no images/);
});

test("folder: written back (JPEG as lossless PNG) and read again gives identical images and labels", () => {
  const root = tempDir();
  const src = join(root, "in");
  makeTree(src, {
    "train/cat/1.jpg": jpegBytes(pixels(6 * 6 * 3, 1), 6, 6),
    "train/cat/2.png": png(pixels(6 * 6 * 3, 2), 6, 6, 3),
    "train/dog/3.png": png(pixels(6 * 6 * 3, 3), 6, 6, 3),
    "val/cat/4.png": png(pixels(6 * 6 * 3, 4), 6, 6, 3),
  });
  mkdirSync(join(src, "val", "dog"));
  const train = loadSplit(`folder:${src}`, "train");
  const val = loadSplit(`folder:${src}`, "test");
  assert.deepEqual(Array.from(val.labels), [0]);
  assert.equal(val.numClasses, 2);
  writeDataset(join(root, "out"), { train, test: val });
  assert.deepEqual(readdirSync(join(root, "out", "train", "cat")).sort(), ["1.png", "2.png"]);
  assert.deepEqual(readdirSync(join(root, "out", "val", "dog")), []);
  const back = loadSplit(`folder:${join(root, "out")}`, "train");
  // Folder datasets stream: their pixels are read, not held.
  const all = (d: Dataset) => readRange(d, 0, d.count);
  assert.equal(back.images, undefined);
  assert.deepEqual(all(back), all(train));
  assert.deepEqual(back.labels, train.labels);
  assert.deepEqual(back.classNames, ["cat", "dog"]);
  assert.deepEqual(all(loadSplit(`folder:${join(root, "out")}`, "test")), all(val));
});

test("folder: an IDX dataset written as PNG folders reads back with the same labels, grouped by class", () => {
  const root = tempDir();
  const fx = writeIdxFixture(join(root, "idx"), true);
  const ds = readIdxSplit(fx.dir, "train", FASHION_MNIST_CLASS_NAMES);
  writeDataset(join(root, "out"), { train: ds }, { format: "folder" });
  // "T-shirt/top" is no valid directory name and the names are unsorted: directories get index prefixes.
  assert.deepEqual(
    readdirSync(join(root, "out", "train"))
      .sort()
      .slice(0, 2),
    ["0-T-shirt_top", "1-Trouser"],
  );
  const back = loadSplit(`folder:${join(root, "out")}`, "train");
  const order = Array.from(ds.labels.keys()).sort((a, b) => ds.labels[a]! - ds.labels[b]! || a - b);
  assert.deepEqual(
    Array.from(back.labels),
    order.map((i) => ds.labels[i]!),
  );
  assert.equal(back.channels, 1);
  for (const [k, i] of order.entries()) assert.deepEqual(imageBytes(back, k), imageBytes(ds, i), `sample ${i}`);
});
