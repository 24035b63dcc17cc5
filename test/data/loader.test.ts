import assert from "node:assert/strict";
import { test } from "node:test";
import { augmentImage, drawAugmentParams, IDENTITY } from "../../src/data/augment.js";
import type { Dataset } from "../../src/data/dataset.js";
import { DatasetError } from "../../src/data/errors.js";
import { buildBatch, DataLoader } from "../../src/data/loader.js";
import { Rng } from "../../src/data/rng.js";
import { scope, setNumThreads, tensor } from "../../src/torch/index.js";
import { pixels } from "./fixtures.js";

setNumThreads(1);

function dataset(count: number, height: number, width: number, channels: number): Dataset {
  return {
    images: pixels(count * height * width * channels, 11),
    labels: Int32Array.from({ length: count }, (_, i) => i % 3),
    count,
    height,
    width,
    channels,
    numClasses: 3,
    classNames: ["a", "b", "c"],
    source: { format: "npy", imagesFile: "x", labelsFile: "y", labelDescr: "<i8", imagesNdim: 4 },
  };
}

const augment = (image: Uint8Array, h: number, w: number, c: number, p: typeof IDENTITY) => {
  const out = new Uint8Array(image.length);
  augmentImage(image, h, w, c, p, out);
  return out;
};

test("augment: crop with padding 0, or at the padded center, is the identity; flipping twice restores", () => {
  const image = pixels(5 * 4 * 3, 1);
  assert.deepEqual(augment(image, 5, 4, 3, IDENTITY), image);
  assert.deepEqual(augment(image, 5, 4, 3, { padding: 2, top: 2, left: 2, flip: false }), image);
  const flip = { padding: 0, top: 0, left: 0, flip: true };
  const once = augment(image, 5, 4, 3, flip);
  assert.notDeepEqual(once, image);
  assert.deepEqual(Array.from(once.subarray(0, 3)), Array.from(image.subarray(9, 12))); // (0,0) <- (0,3)
  assert.deepEqual(augment(once, 5, 4, 3, flip), image);
});

test("augment: a corner crop shifts the image and fills the uncovered border with zeros", () => {
  const h = 4;
  const w = 5;
  const image = Uint8Array.from({ length: h * w }, (_, i) => i + 1);
  // Corner (0, 0) of the 2-padded image: content moves 2 down and 2 right.
  const shifted = augment(image, h, w, 1, { padding: 2, top: 0, left: 0, flip: false });
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const expected = y >= 2 && x >= 2 ? image[(y - 2) * w + (x - 2)] : 0;
      assert.equal(shifted[y * w + x], expected, `(${y}, ${x})`);
    }
  }
  // Padding wider than the image crops to all zeros, without writing outside the row.
  assert.ok(augment(image, h, w, 1, { padding: 9, top: 0, left: 0, flip: false }).every((v) => v === 0));
  const flipped = augment(image, h, w, 1, { padding: 1, top: 1, left: 2, flip: true });
  assert.deepEqual(Array.from(flipped.subarray(0, w)), [0, 5, 4, 3, 2]);
});

test("augment: drawn corners cover [0, 2*padding] and flips are about half", () => {
  const rng = new Rng(5);
  const seen = new Set<string>();
  let flips = 0;
  for (let i = 0; i < 2000; i++) {
    const p = drawAugmentParams(rng, { cropPadding: 2, flip: true });
    assert.ok(p.top >= 0 && p.top <= 4 && p.left >= 0 && p.left <= 4);
    seen.add(`${p.top},${p.left}`);
    flips += p.flip ? 1 : 0;
  }
  assert.equal(seen.size, 25);
  assert.ok(flips > 900 && flips < 1100, `flips ${flips}`);
  const none = drawAugmentParams(rng, {});
  assert.deepEqual([none.top, none.left, none.flip], [0, 0, false]);
});

test("loader: NCHW float32 in [0,1] equal to pixels/255, int64 labels, in order without shuffle", () => {
  const ds = dataset(10, 3, 4, 3);
  const loader = new DataLoader(ds, { batchSize: 4 });
  const batches = [...loader.epoch(0)];
  assert.deepEqual(
    batches.map((b) => b.x.shape),
    [
      [4, 3, 3, 4],
      [4, 3, 3, 4],
      [2, 3, 3, 4],
    ],
  );
  const [first] = batches;
  assert.equal(first!.x.dtype, "float32");
  assert.equal(first!.y.dtype, "int64");
  assert.deepEqual(first!.y.toArray(), [0, 1, 2, 0]);
  assert.deepEqual(Array.from(first!.indices), [0, 1, 2, 3]);
  const x = first!.x.toTypedArray() as Float32Array;
  assert.ok(x.every((v) => v >= 0 && v <= 1));
  // x[b=1, c=2, y=2, x=3] is byte (1*12 + 2*4 + 3)*3 + 2 of the N,H,W,C images.
  assert.equal(x[1 * 36 + 2 * 12 + 2 * 4 + 3], Math.fround(ds.images![(12 + 2 * 4 + 3) * 3 + 2]! / 255));
  // Exactly what libtorch computes for ToTensor: uint8 -> permute -> float -> / 255.
  const reference = tensor(ds.images!.subarray(0, 4 * 36), [4, 3, 4, 3])
    .permute(0, 3, 1, 2)
    .float()
    .div(255);
  assert.ok(first!.x.equal(reference));
  for (const b of batches) b.dispose();
  assert.ok(first!.x.isDisposed && first!.y.isDisposed);
});

test("loader: normalisation matches libtorch's (x - mean) / std exactly; channel count is checked", () => {
  const ds = dataset(3, 2, 2, 3);
  const normalize = { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.243, 0.261] };
  scope(() => {
    const { x } = buildBatch(ds, Int32Array.of(0, 1, 2), { normalize });
    const mean = tensor(normalize.mean, [1, 3, 1, 1]);
    const std = tensor(normalize.std, [1, 3, 1, 1]);
    const reference = tensor(ds.images!, [3, 2, 2, 3]).permute(0, 3, 1, 2).float().div(255).sub(mean).div(std);
    assert.ok(x.equal(reference));
  });
  assert.throws(() => buildBatch(ds, Int32Array.of(0), { normalize: { mean: [0.5], std: [0.5] } }), DatasetError);
  assert.throws(() => buildBatch(ds, Int32Array.of(3)), /sample index 3 out of range/);
});

test("loader: seeded shuffling repeats per seed and epoch, covers every sample, and drop-last works", () => {
  const ds = dataset(10, 2, 2, 1);
  const order = (seed: number, epoch: number) =>
    [...new DataLoader(ds, { batchSize: 3, shuffle: true, seed }).epoch(epoch)].flatMap((b) => {
      b.dispose();
      return Array.from(b.indices);
    });
  assert.deepEqual(order(1, 0), order(1, 0));
  assert.notDeepEqual(order(1, 0), order(2, 0));
  assert.notDeepEqual(order(1, 0), order(1, 1));
  assert.deepEqual(
    [...order(1, 0)].sort((a, b) => a - b),
    Array.from({ length: 10 }, (_, i) => i),
  );
  const dropping = new DataLoader(ds, { batchSize: 3, shuffle: true, seed: 1, dropLast: true });
  assert.equal(dropping.length, 3);
  assert.equal(new DataLoader(ds, { batchSize: 3 }).length, 4);
  const sizes = [...dropping.epoch(0)].map((b) => {
    b.dispose();
    return b.indices.length;
  });
  assert.deepEqual(sizes, [3, 3, 3]);
  // Iterating the loader runs epoch 0, then epoch 1.
  const pass = () =>
    [...dropping].flatMap((b) => {
      b.dispose();
      return Array.from(b.indices);
    });
  const firstPass = pass();
  const secondPass = pass();
  assert.deepEqual(firstPass, order(1, 0).slice(0, 9));
  assert.deepEqual(secondPass, order(1, 1).slice(0, 9));
  assert.throws(() => new DataLoader(ds, { batchSize: 0 }), /batch size must be a positive integer/);
});

test("loader: augmentation is seeded and keeps content (each flipped sample is the mirror image)", () => {
  const ds = dataset(16, 3, 5, 1);
  const run = (seed: number) =>
    [...new DataLoader(ds, { batchSize: 8, seed, augment: { flip: true } }).epoch(0)].map((b) => {
      const x = b.x.toTypedArray() as Float32Array;
      b.dispose();
      return x;
    });
  const a = run(4);
  assert.deepEqual(a, run(4));
  assert.notDeepEqual(a, run(5));
  let flipped = 0;
  a.forEach((x, batch) => {
    for (let s = 0; s < 8; s++) {
      const index = batch * 8 + s;
      const original = ds.images!.subarray(index * 15, (index + 1) * 15);
      const mirror = augment(original, 3, 5, 1, { padding: 0, top: 0, left: 0, flip: true });
      const got = Array.from(x.subarray(s * 15, (s + 1) * 15), (v) => Math.round(v * 255));
      const isOriginal = got.every((v, i) => v === original[i]);
      const isMirror = got.every((v, i) => v === mirror[i]);
      assert.ok(isOriginal || isMirror, `sample ${index} is neither the image nor its mirror`);
      flipped += isMirror && !isOriginal ? 1 : 0;
    }
  });
  assert.ok(flipped > 2 && flipped < 14, `flipped ${flipped} of 16`);
});

test("loader: crop augmentation moves pixels but never invents values; shuffling order is unaffected", () => {
  const ds = dataset(8, 6, 6, 1);
  const plain = new DataLoader(ds, { batchSize: 8, shuffle: true, seed: 9 });
  const cropped = new DataLoader(ds, { batchSize: 8, shuffle: true, seed: 9, augment: { cropPadding: 2 } });
  const [p] = [...plain.epoch(0)];
  const [c] = [...cropped.epoch(0)];
  assert.deepEqual(p!.indices, c!.indices);
  const x = c!.x.toTypedArray() as Float32Array;
  let moved = 0;
  for (let s = 0; s < 8; s++) {
    const original = new Set(ds.images!.subarray(c!.indices[s]! * 36, (c!.indices[s]! + 1) * 36));
    const got = Array.from(x.subarray(s * 36, (s + 1) * 36), (v) => Math.round(v * 255));
    assert.ok(got.every((v) => v === 0 || original.has(v)));
    moved += got.some((v, i) => v !== ds.images![c!.indices[s]! * 36 + i]) ? 1 : 0;
  }
  assert.ok(moved >= 4, `only ${moved} of 8 samples were shifted`);
  p!.dispose();
  c!.dispose();
});

test("loader: batches taken inside scope() are freed when it closes", () => {
  const ds = dataset(4, 2, 2, 1);
  const loader = new DataLoader(ds, { batchSize: 2 });
  const kept = scope(() => {
    const [b] = [...loader.epoch(0)].slice(0, 1);
    return b!;
  });
  assert.equal(kept.x.isDisposed, false);
  kept.dispose();
  let inner: { x: { isDisposed: boolean } } | undefined;
  scope(() => {
    inner = [...loader.epoch(0)][0];
  });
  assert.equal(inner!.x.isDisposed, true);
});
