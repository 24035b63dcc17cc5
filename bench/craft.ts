// Crafting benchmark: the targeted crafting loop (SmallCNN-BN, batch 512, shift+flip augmentation, signed
// PGD steps with projection, quantisation) in advpoison and in a PyTorch reference, alternating in rounds.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSplit } from "../src/data/index.js";
import { createModel } from "../src/models/index.js";
import { ChunkStore, type CraftPlan, craftShard, shiftPermutation } from "../src/poison/index.js";
import { getNumThreads, manualSeed } from "../src/torch/index.js";
import { Reference } from "./reference.js";
import { median, printCase } from "./timing.js";

const chunks = Number(process.env.BENCH_CHUNKS ?? 2);
const steps = Number(process.env.BENCH_STEPS ?? 10);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const threads = getNumThreads();
const data = loadSplit("fashion-mnist", "train");
manualSeed(0);
const model = createModel("smallcnn-bn", { inChannels: 1, numClasses: 10, imageSize: 28 }).eval().requiresGrad_(false);
const plan = (seed: number): CraftPlan => ({
  recipe: "targeted",
  eps: 8,
  steps,
  stepSize: 0.8,
  init: "randn",
  restarts: 1,
  augment: { maxShift: 0.25, flip: true },
  chunkSize: 512,
  budget: 1,
  seed,
  permutation: shiftPermutation(10),
  dataset: { spec: "fashion-mnist", dataDir: null, subset: chunks * 512, count: chunks * 512, shape: [28, 28, 1] },
  crafters: [],
  extra: {},
});
const subsetData = {
  ...data,
  count: chunks * 512,
  images: data.images.subarray(0, chunks * 512 * 784),
  labels: data.labels.subarray(0, chunks * 512),
};

const reference = new Reference("bench/reference/craft.py", ["--threads", String(threads)]);
const ours: number[] = [];
const theirs: number[] = [];
for (let r = 0; r < rounds; r++) {
  const dir = mkdtempSync(join(tmpdir(), "advpoison-bench-craft-"));
  const t0 = performance.now();
  await craftShard(subsetData, plan(r), [model], ChunkStore.open(dir, plan(r)));
  ours.push((performance.now() - t0) / 1000);
  rmSync(dir, { recursive: true, force: true });
  theirs.push((await reference.ask(`${chunks} ${steps}`)).seconds as number);
}
reference.close();
const o = median(ours);
const t = median(theirs);
console.log(
  `crafting benchmark: ${chunks} chunks of 512, ${steps} steps, ${threads} threads, median of ${rounds} rounds`,
);
console.log(`  ours ${o.toFixed(2)} s, PyTorch ${t.toFixed(2)} s`);
printCase({
  case: "craft.targeted.smallcnn",
  ours_s: +o.toFixed(3),
  torch_s: +t.toFixed(3),
  ratio: +(o / t).toFixed(3),
});
