// Data benchmark: how long the real Fashion-MNIST takes to load, and what the loader costs per batch
// (128 samples, random crop with padding 2 and flips, tensors included) as a percentage of a SmallCNN
// train step measured in the same run; both against a PyTorch reference doing the same work on the same
// IDX files (bench/reference/data.py), in alternating rounds as bench/engine.ts does. Prints one JSON line
// per case.

import { existsSync } from "node:fs";
import type { Dataset } from "../src/data/dataset.js";
import { DataLoader } from "../src/data/loader.js";
import { DEBIAN_FASHION_MNIST_DIR, loadDataset } from "../src/data/registry.js";
import { SmallCNN } from "../src/models/index.js";
import { SGD } from "../src/optim/index.js";
import { F, getNumThreads, manualSeed, scope } from "../src/torch/index.js";
import { Reference } from "./reference.js";
import { median, medianMs, printCase } from "./timing.js";

const BATCH = 128;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

/** The PyTorch side, which reads Debian's files itself: only when they are there. */
const reference = existsSync(DEBIAN_FASHION_MNIST_DIR)
  ? new Reference("bench/reference/data.py", ["--threads", String(getNumThreads())])
  : undefined;

async function loadFashionMnist(): Promise<Dataset | undefined> {
  if (!reference) {
    printCase({ case: "fashion-mnist.load", skipped: `${DEBIAN_FASHION_MNIST_DIR} not present` });
    return undefined;
  }
  const ours: number[] = [];
  const torch: number[] = [];
  let train: Dataset | undefined;
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now();
    train = loadDataset("fashion-mnist").train;
    ours.push((performance.now() - t0) / 1000);
    torch.push((await reference.ask("load")).seconds as number);
  }
  const [o, t] = [median(ours), median(torch)];
  printCase({
    case: "fashion-mnist.load",
    seconds: +o.toFixed(3),
    torch_seconds: +t.toFixed(3),
    ratio: +(o / t).toFixed(3),
  });
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

async function main(): Promise<void> {
  const train = (await loadFashionMnist()) ?? syntheticFashionMnist();
  const loader = new DataLoader(train, {
    batchSize: BATCH,
    shuffle: true,
    seed: 0,
    dropLast: true,
    augment: { cropPadding: 2, flip: true },
  });
  // Epoch after epoch, as the PyTorch side's stream: the rounds take more batches than one epoch has.
  let epoch = 0;
  let batches = loader.epoch(epoch);
  const nextBatch = () => {
    let b = batches.next();
    if (b.done) {
      batches = loader.epoch(++epoch);
      b = batches.next();
    }
    if (b.done) throw new Error("the loader yields no batches");
    return b.value;
  };
  const ours: number[] = [];
  const torch: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const warmup = r === 0 ? 20 : 0;
    ours.push(medianMs(() => nextBatch().dispose(), warmup, 200));
    if (reference) torch.push((await reference.ask(`batch ${warmup} 200`)).ms as number);
  }
  reference?.close();
  const loaderMs = median(ours);

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
    ...(torch.length
      ? { torch_batch_ms: +median(torch).toFixed(3), ratio: +(loaderMs / median(torch)).toFixed(3) }
      : {}),
    train_step_ms: Number(stepMs.toFixed(2)),
    threads: getNumThreads(),
  });
}

await main();
