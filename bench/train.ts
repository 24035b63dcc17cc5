// Training benchmark: SmallCNN-BN on the real Fashion-MNIST with the "fast" recipe, in advpoison and in a
// PyTorch reference of the same recipe, one after the other in one run: seconds per epoch and test accuracy.
import { spawnSync } from "node:child_process";
import { loadDataset } from "../src/data/index.js";
import { createModel } from "../src/models/index.js";
import { getNumThreads, manualSeed } from "../src/torch/index.js";
import { recipe, train } from "../src/train/index.js";
import { PYTHON } from "./reference.js";
import { printCase } from "./timing.js";

const epochs = Number(process.env.BENCH_EPOCHS ?? 2);
const threads = getNumThreads();
const { train: trainSet, test } = loadDataset("fashion-mnist");
manualSeed(0);
const model = createModel("smallcnn-bn", { inChannels: 1, numClasses: 10, imageSize: 28 });
const result = await train(model, trainSet, { recipe: recipe("fast", { epochs }), seed: 0, testSet: test });
const oursS = result.history.reduce((s, e) => s + e.seconds, 0) / epochs;
const oursAcc = result.history[result.history.length - 1]!.testAcc!;

const ref = spawnSync(PYTHON, ["train.py", "--epochs", String(epochs), "--threads", String(threads)], {
  cwd: "bench/reference",
  encoding: "utf8",
  stdio: ["ignore", "pipe", "inherit"],
});
if (ref.status !== 0) throw new Error(`PyTorch reference failed (exit ${ref.status})`);
const torch = JSON.parse(ref.stdout.trim().split("\n").pop()!) as { seconds_per_epoch: number; test_acc: number };

console.log(`training benchmark: SmallCNN-BN, Fashion-MNIST 60k, recipe fast, ${epochs} epochs, ${threads} threads`);
console.log(`  ours    ${oursS.toFixed(1)} s/epoch, test acc ${(100 * oursAcc).toFixed(2)}%`);
console.log(`  PyTorch ${torch.seconds_per_epoch.toFixed(1)} s/epoch, test acc ${(100 * torch.test_acc).toFixed(2)}%`);
printCase({
  case: "smallcnn.fashion-mnist.epoch",
  ours_s: +oursS.toFixed(2),
  torch_s: +torch.seconds_per_epoch.toFixed(2),
  ratio: +(oursS / torch.seconds_per_epoch).toFixed(3),
  ours_acc: +oursAcc.toFixed(4),
  torch_acc: +torch.test_acc.toFixed(4),
});
