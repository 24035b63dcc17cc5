// An in-memory dataset for the training tests, and the run settings the resume test shares with its child
// process (test/train/resume-child.ts): grey 28x28 images of 4 classes over seeded noise, each class a bright band
// (top, bottom, centre column, both side columns; jittered by 0..2 px), patterns that the recipe's horizontal
// flips and small crops leave recognisable, so that a few epochs of SmallCNN learn them.
import type { Dataset } from "../../src/data/index.js";
import { Rng } from "../../src/data/index.js";
import { SmallCNN } from "../../src/models/index.js";
import { manualSeed } from "../../src/torch/index.js";
import { type Recipe, recipe } from "../../src/train/index.js";

const SIDE = 28;

/** Whether pixel (y, x) is in the band of `label`, shifted by `j`. */
function inBand(label: number, y: number, x: number, j: number): boolean {
  switch (label) {
    case 0:
      return y >= 3 + j && y < 9 + j;
    case 1:
      return y >= 18 + j && y < 24 + j;
    case 2:
      return x >= 11 + j && x < 16 + j;
    default:
      return (x >= 2 + j && x < 6 + j) || (x >= 22 - j && x < 26 - j);
  }
}

export function syntheticDataset(count: number, seed: number): Dataset {
  const numClasses = 4;
  const rng = new Rng(seed);
  const images = new Uint8Array(count * SIDE * SIDE);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const label = i % numClasses;
    labels[i] = label;
    const j = rng.nextInt(3);
    const image = images.subarray(i * SIDE * SIDE, (i + 1) * SIDE * SIDE);
    for (let y = 0; y < SIDE; y++) {
      for (let x = 0; x < SIDE; x++) image[y * SIDE + x] = rng.nextInt(100) + (inBand(label, y, x, j) ? 130 : 0);
    }
  }
  return {
    images,
    labels,
    count,
    height: SIDE,
    width: SIDE,
    channels: 1,
    numClasses,
    classNames: Array.from({ length: numClasses }, (_, c) => `class${c}`),
    source: { format: "idx", gzip: false, imagesFile: "<memory>", labelsFile: "<memory>" },
  };
}

/** The resume test's run: the same in both processes. */
export const RUN_SEED = 11;
export const TRAIN_COUNT = 256;
export const DATA_SEED = 5;

export function runRecipe(): Recipe {
  return recipe("fast", { epochs: 3, batchSize: 64 });
}

/** A SmallCNN with batch norm (so the checkpoint holds buffers too), initialised from `initSeed`. */
export function makeModel(initSeed: number): SmallCNN {
  manualSeed(initSeed);
  return new SmallCNN({ inChannels: 1, numClasses: 4, imageSize: 28, batchNorm: true });
}
