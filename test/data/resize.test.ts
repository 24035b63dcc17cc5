import assert from "node:assert/strict";
import { test } from "node:test";
import { centerCrop, resizeBilinear, resizeShorterSide, shorterSideSize } from "../../src/data/resize.js";
import { byteDifference, hasPil, pil } from "../pil.js";
import { needs } from "../requirements.js";
import { pixels } from "./fixtures.js";

test("resize: output sizes follow torchvision's Resize(int)", () => {
  assert.deepEqual(shorterSideSize(480, 640, 256), [256, 341]);
  assert.deepEqual(shorterSideSize(500, 375, 256), [341, 256]);
  assert.deepEqual(shorterSideSize(100, 100, 32), [32, 32]);
});

test("resize: same size is the identity; a constant image stays constant up or down", () => {
  const image = { pixels: pixels(5 * 7 * 3), height: 5, width: 7, channels: 3 };
  assert.equal(resizeBilinear(image, 5, 7), image);
  const flat = { pixels: new Uint8Array(9 * 13).fill(77), height: 9, width: 13, channels: 1 };
  for (const [h, w] of [
    [4, 5],
    [20, 31],
    [9, 3],
  ] as const) {
    const out = resizeBilinear(flat, h, w);
    assert.deepEqual([out.height, out.width], [h, w]);
    assert.ok(
      out.pixels.every((v) => v === 77),
      `${h}x${w}`,
    );
  }
});

test("resize: downscaling is antialiased (PIL's widened triangle filter)", () => {
  // A 1-pixel checkerboard averages to mid-gray when halved; plain bilinear sampling would alias it.
  const board = Uint8Array.from({ length: 16 * 16 }, (_, i) => (((i >> 4) + (i & 15)) % 2) * 200);
  const out = resizeBilinear({ pixels: board, height: 16, width: 16, channels: 1 }, 8, 8);
  const inner = [];
  for (let y = 1; y < 7; y++) for (let x = 1; x < 7; x++) inner.push(out.pixels[y * 8 + x]!);
  assert.ok(
    inner.every((v) => Math.abs(v - 100) <= 15),
    `interior ${inner}`,
  );
  // 1-D check against weights computed by hand: output 0 of 4 -> 2 reads inputs 0..2 with weights 3:3:1.
  const row = { pixels: Uint8Array.of(0, 70, 140, 210), height: 1, width: 4, channels: 1 };
  assert.deepEqual(Array.from(resizeBilinear(row, 1, 2).pixels), [
    Math.round((0 * 3 + 70 * 3 + 140) / 7),
    Math.round((70 + 140 * 3 + 210 * 3) / 7),
  ]);
});

test("resize: upscaling a linear ramp keeps it linear inside", () => {
  const ramp = { pixels: Uint8Array.of(0, 40, 80, 120), height: 1, width: 4, channels: 1 };
  const out = resizeBilinear(ramp, 1, 8).pixels;
  // Interior samples sit at input x = 0.25, 0.75, ...: 10, 30, 50, ... (the ends clamp to the edge pixels).
  assert.deepEqual(Array.from(out), [0, 10, 30, 50, 70, 90, 110, 120]);
  assert.deepEqual([resizeShorterSide(ramp, 2).height, resizeShorterSide(ramp, 2).width], [2, 8]);
});

test("center crop: torchvision's placement, including Python's round-half-even", () => {
  const image = { pixels: Uint8Array.from({ length: 7 * 5 }, (_, i) => i), height: 7, width: 5, channels: 1 };
  // (7-2)/2 = 2.5 rounds to 2, (5-2)/2 = 1.5 rounds to 2.
  assert.deepEqual(Array.from(centerCrop(image, 2)!.pixels), [12, 13, 17, 18]);
  assert.equal(centerCrop(image, 6), undefined);
  const square = { ...image, pixels: image.pixels.subarray(0, 25), height: 5 };
  assert.equal(centerCrop(square, 5), square);
});

test("resize: PIL's Image.resize(BILINEAR) agrees, down and up, within one grey level", {
  skip: needs(hasPil, "python3-pil"),
}, () => {
  // PIL rounds to 8 bits between its horizontal and vertical passes, this filter keeps the intermediate in
  // float and rounds once, so single pixels may differ by one level (measured: 1, mean 0.001-0.19).
  const image = { pixels: pixels(37 * 23 * 3, 5), height: 37, width: 23, channels: 3 };
  for (const [h, w] of [
    [11, 7],
    [60, 40],
    [37, 10],
    [5, 50],
  ] as const) {
    const ours = resizeBilinear(image, h, w).pixels;
    const reference = pil(
      `sys.stdout.buffer.write(Image.frombytes("RGB", (23, 37), sys.stdin.buffer.read()).resize((${w}, ${h}), Image.BILINEAR).tobytes())`,
      image.pixels,
    );
    const d = byteDifference(ours, reference);
    assert.ok(d.max <= 1 && d.mean < 0.25, `${h}x${w}: max ${d.max}, mean ${d.mean}`);
  }
});
