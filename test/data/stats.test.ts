// Channel means of a dataset's pixels in [0, 1] units: per channel of the N,H,W,C bytes, not over all bytes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { channelMeans, type Dataset } from "../../src/data/index.js";

function rgb(images: number[], count: number, side: number): Dataset {
  return {
    images: Uint8Array.from(images),
    labels: new Int32Array(count),
    count,
    height: side,
    width: side,
    channels: 3,
    numClasses: 1,
    classNames: ["a"],
    source: { format: "npy", imagesFile: "x", labelsFile: "y", labelDescr: "<i8", imagesNdim: 4 },
  };
}

test("channelMeans averages each channel over every image and pixel, as v / 255", () => {
  // Two 1x1 RGB images: (255, 0, 51) and (255, 102, 0).
  const means = channelMeans(rgb([255, 0, 51, 255, 102, 0], 2, 1));
  const expected = [1, 51 / 255, 25.5 / 255];
  for (const [i, m] of means.entries()) assert.ok(Math.abs(m - expected[i]!) < 1e-12, `channel ${i}: ${m}`);
  assert.ok(channelMeans(rgb([], 0, 1)).every(Number.isNaN), "no pixels: no mean");
});
