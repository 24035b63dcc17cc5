// Data benchmark: how long the real Fashion-MNIST takes to load, and what the loader costs per batch
// (128 samples, random crop with padding 2 and flips, tensors included) as a percentage of a SmallCNN
// train step measured in the same run. Prints one JSON line per case.

import { existsSync } from "node:fs";
import type { Dataset } from "../src/data/dataset.js";
import { DataLoader } from "../src/data/loader.js";
import { DEBIAN_FASHION_MNIST_DIR, loadDataset } from "../src/data/registry.js";
import { SmallCNN } from "../src/models/index.js";
import { SGD } from "../src/optim/index.js";
import { F, getNumThreads, manualSeed, scope } from "../src/torch/index.js";
import { median, medianMs, printCase } from "./timing.js";

const BATCH = 128;

function loadFashionMnist(): Dataset | undefined {
  if (!existsSync(DEBIAN_FASHION_MNIST_DIR)) {
    printCase({ case: "fashion-mnist.load", skipped: `${DEBIAN_FASHION_MNIST_DIR} not present` });
    return undefined;
  }
  const times: number[] = [];
  let train: Dataset | undefined;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    train = loadDataset("fashion-mnist").train;
    times.push((performance.now() - t0) / 1000);
  }
  printCase({ case: "fashion-mnist.load", seconds: Number(median(times).toFixed(3)) });
  return train;
}

/** Stand-in with Fashion-MNIST's shape when the real files are absent: the loader's cost is the same. */
function syntheticFashionMnist(): Dataset {
  const count = 60000;
  return {
    images: Uint8Array.from({ length: count * 784 }, (_, i) => (i * 2654435761) >>> 24),
    labels: Int32Array.from({ length: count }, (_, i) => i % 10),
    count,
    height: 28,
    width: 28,
    channels: 1,
    numClasses: 10,
    classNames: Array.from({ length: 10 }, (_, i) => String(i)),
    source: { format: "npy", imagesFile: "-", labelsFile: "-", labelDescr: "<i8", imagesNdim: 3 },
  };
}

function main(): void {
  const train = loadFashionMnist() ?? syntheticFashionMnist();
  const loader = new DataLoader(train, {
    batchSize: BATCH,
    shuffle: true,
    seed: 0,
    dropLast: true,
    augment: { cropPadding: 2, flip: true },
  });
  const batches = loader.epoch(0);
  const nextBatch = () => {
    const b = batches.next();
    if (b.done) throw new Error("ran out of batches");
    return b.value;
  };
  const loaderMs = medianMs(() => nextBatch().dispose(), 20, 200);

  manualSeed(0);
  const model = new SmallCNN({ inChannels: 1, numClasses: 10, imageSize: 28 });
  const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const batch = nextBatch();
  const stepMs = medianMs(
    () =>
      scope(() => {
        F.crossEntropy(model.forward(batch.x), batch.y).backward();
        opt.step();
        opt.zeroGrad();
      }),
    3,
    20,
  );
  batch.dispose();
  printCase({
    case: "loader.overhead",
    percent: Number(((100 * loaderMs) / stepMs).toFixed(2)),
    loader_ms: Number(loaderMs.toFixed(3)),
    train_step_ms: Number(stepMs.toFixed(2)),
    threads: getNumThreads(),
  });
}

main();
