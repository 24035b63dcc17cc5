// Training benchmark: SmallCNN-BN on the real Fashion-MNIST with the "fast" recipe, in advpoison and in a
// PyTorch reference of the same recipe. Like bench/engine.ts it alternates rounds (ours, PyTorch, ours, ...)
// after a warm-up round on each side, since this machine's speed drifts by tens of percent over seconds:
// a round is one epoch of the recipe on the first BENCH_ROUND_IMAGES training images, each side training
// one model on across rounds. Prints seconds per 60k-image epoch (the median round, scaled), both models'
// test accuracy after the rounds, and a JSON line.
import { loadDataset, subset } from "../src/data/index.js";
import { createModel } from "../src/models/index.js";
import { getNumThreads, manualSeed } from "../src/torch/index.js";
import { evaluate, recipe, train } from "../src/train/index.js";
import { Reference } from "./reference.js";
import { median, printCase } from "./timing.js";

const roundImages = Number(process.env.BENCH_ROUND_IMAGES ?? 6400);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const warmupImages = 1280;
const threads = getNumThreads();
const { train: trainSet, test } = loadDataset("fashion-mnist");
const reference = new Reference("bench/reference/train.py", ["--threads", String(threads)]);
manualSeed(0);
const model = createModel("smallcnn-bn", { inChannels: 1, numClasses: 10, imageSize: 28 });

/** Seconds of one epoch of the recipe on the first n images, training `model` on. */
async function ourEpoch(n: number): Promise<number> {
  const r = await train(model, subset(trainSet, n), { recipe: recipe("fast", { epochs: 1 }), seed: 0 });
  return r.history[0]!.seconds;
}
const theirEpoch = async (n: number) => (await reference.ask(`epoch ${n}`)).seconds as number;

await ourEpoch(warmupImages);
await theirEpoch(warmupImages);
const ours: number[] = [];
const torch: number[] = [];
for (let r = 0; r < rounds; r++) {
  ours.push(await ourEpoch(roundImages));
  torch.push(await theirEpoch(roundImages));
}
const oursAcc = evaluate(model, test).accuracy;
const torchAcc = (await reference.ask("eval")).test_acc as number;
reference.close();
const perEpoch = (seconds: number[]) => (median(seconds) * trainSet.count) / roundImages;
const oursS = perEpoch(ours);
const torchS = perEpoch(torch);
const trained = warmupImages + rounds * roundImages;

console.log(
  `training benchmark: SmallCNN-BN, Fashion-MNIST, recipe fast, ${threads} threads, median of ${rounds} alternating ` +
    `rounds of ${roundImages} images (after a warm-up), scaled to ${trainSet.count} images per epoch`,
);
console.log(`  ours    ${oursS.toFixed(1)} s/epoch, test acc ${(100 * oursAcc).toFixed(2)}% after ${trained} images`);
console.log(`  PyTorch ${torchS.toFixed(1)} s/epoch, test acc ${(100 * torchAcc).toFixed(2)}% after ${trained} images`);
printCase({
  case: "smallcnn.fashion-mnist.epoch",
  ours_s: +oursS.toFixed(2),
  torch_s: +torchS.toFixed(2),
  ratio: +(oursS / torchS).toFixed(3),
  ours_acc: +oursAcc.toFixed(4),
  torch_acc: +torchAcc.toFixed(4),
  rounds,
  round_images: roundImages,
});
