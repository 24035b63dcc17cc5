// The photo-quality numbers that protect records: SSIM computed on typed arrays equals ssim.js's own function to
// the bit at every downsampling factor (ssim.js's JS arrays cannot hold a 48 MP photo; ours must not change the
// numbers of the photos it can); and the memory a photo needs is told from its pixel count before decoding.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ssim } from "ssim.js";
import { BYTES_PER_PIXEL, memoryProblem } from "../../src/protect/memory.js";
import { meanSsim } from "../../src/protect/quality.js";

/** A textured RGB photo and a copy with a small deterministic perturbation. */
function pair(width: number, height: number) {
  const a = new Uint8Array(width * height * 3);
  const b = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) {
    a[i] = (i * 7 + Math.floor(i / (3 * width)) * 13) % 251;
    b[i] = Math.max(0, Math.min(255, a[i]! + ((i * 31) % 17) - 8));
  }
  return { a, b };
}

const rgba = (rgb: Uint8Array) => {
  const out = new Uint8ClampedArray((rgb.length / 3) * 4);
  for (let i = 0; i < rgb.length / 3; i++) {
    out.set(rgb.subarray(3 * i, 3 * i + 3), 4 * i);
    out[4 * i + 3] = 255;
  }
  return out;
};

describe("photo quality", { timeout: 120_000 }, () => {
  // Shorter sides 50..1030: ssim.js's factor round(shorter / 256) is 0, 1, 2 (even), 3 and 4.
  for (const [width, height] of [
    [61, 50],
    [300, 340],
    [700, 520],
    [1200, 800],
    [1030, 1100],
  ] as const) {
    test(`SSIM of ${width}x${height} equals ssim.js's`, () => {
      const { a, b } = pair(width, height);
      const theirs = ssim({ data: rgba(a), width, height }, { data: rgba(b), width, height }).mssim;
      assert.equal(meanSsim(a, b, width, height), theirs);
    });
  }

  test("a photo is refused beforehand when its pixels need more memory than is available", () => {
    const pixels = 48e6;
    assert.equal(memoryProblem(pixels, pixels * BYTES_PER_PIXEL), undefined);
    assert.match(
      memoryProblem(pixels, 2 ** 30) ?? "",
      /protecting its 48\.0 MP needs about 4\.\d GiB of memory, but only 1\.0 GiB is available/,
    );
  });
});
