// Crafting benchmark: the targeted crafting loop (batches of 128, shift+flip augmentation, signed PGD steps with
// projection, quantisation) for SmallCNN-BN on Fashion-MNIST and CIFAR ResNet-18 on seeded 3x32x32 noise, in
// advpoison and in a PyTorch reference, each in fp32 and in its fast bf16 path (ours: the folded, channels-last
// frozen copy under autocast; PyTorch's: autocast + channels-last), alternating in rounds.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Dataset, loadSplit, Rng } from "../src/data/index.js";
import { createModel, prepareForCrafting } from "../src/models/index.js";
import type { Module } from "../src/nn/index.js";
import { ChunkStore, type CraftPlan, craftShard, shiftPermutation } from "../src/poison/index.js";
import { getNumThreads, manualSeed } from "../src/torch/index.js";
import { alternate, printPrecisionCase, type Variant } from "./precision.js";
import { Reference } from "./reference.js";

const chunkSize = Number(process.env.BENCH_CHUNK_SIZE ?? 128);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const threads = getNumThreads();
const only = process.argv[2] ?? "";

interface Case {
  name: string;
  model: string;
  chunks: number;
  steps: number;
  data: () => Dataset;
}

/** `count` images of seeded uniform noise with CIFAR's shape (the bench needs CIFAR's cost, not its pictures). */
function noiseDataset(count: number): Dataset {
  const rng = new Rng(0);
  const images = new Uint8Array(count * 32 * 32 * 3).map(() => rng.nextInt(256));
  const labels = Int32Array.from({ length: count }, (_, i) => i % 10);
  return {
    images,
    labels,
    count,
    height: 32,
    width: 32,
    channels: 3,
    numClasses: 10,
    classNames: Array.from({ length: 10 }, (_, i) => String(i)),
    source: { format: "npy", imagesFile: "", labelsFile: "", labelDescr: "<i8", imagesNdim: 4 },
  };
}

const CASES: Case[] = [
  {
    name: "smallcnn",
    model: "smallcnn-bn",
    chunks: Number(process.env.BENCH_CHUNKS ?? 4),
    steps: Number(process.env.BENCH_STEPS ?? 10),
    data: () => loadSplit("fashion-mnist", "train"),
  },
  {
    name: "resnet18",
    model: "resnet18",
    chunks: Number(process.env.BENCH_CHUNKS_LARGE ?? 1),
    steps: Number(process.env.BENCH_STEPS_LARGE ?? 3),
    data: () => noiseDataset(chunkSize),
  },
].filter((c) => !only || c.name === only);

function plan(c: Case, ds: Dataset, seed: number): CraftPlan {
  const count = c.chunks * chunkSize;
  return {
    recipe: "targeted",
    eps: 8,
    steps: c.steps,
    stepSize: 0.8,
    init: "randn",
    restarts: 1,
    augment: { maxShift: 0.25, flip: true },
    chunkSize,
    budget: 1,
    seed,
    permutation: shiftPermutation(10),
    dataset: { spec: c.name, dataDir: null, subset: count, count, shape: [ds.height, ds.width, ds.channels] },
    crafters: [],
    extra: {},
  };
}

const reference = new Reference("bench/reference/craft.py", ["--threads", String(threads)]);
for (const c of CASES) {
  const all = c.data();
  const count = c.chunks * chunkSize;
  const size = all.height * all.width * all.channels;
  const ds: Dataset = {
    ...all,
    count,
    images: all.images!.subarray(0, count * size),
    labels: all.labels.subarray(0, count),
  };
  manualSeed(0);
  const spec = { inChannels: ds.channels, numClasses: 10, imageSize: ds.height };
  const model = createModel(c.model, spec).eval().requiresGrad_(false);
  const crafters: Record<Variant, Module> = { fp32: model, bf16: prepareForCrafting(model, { precision: "bf16" }) };
  const t = await alternate(
    rounds,
    async (v, r) => {
      const dir = mkdtempSync(join(tmpdir(), "advpoison-bench-craft-"));
      const t0 = performance.now();
      await craftShard(ds, plan(c, ds, r), [crafters[v]], ChunkStore.open(dir, plan(c, ds, r)));
      rmSync(dir, { recursive: true, force: true });
      return (performance.now() - t0) / 1000;
    },
    async (v) => (await reference.ask(`${c.name} ${v} ${c.chunks} ${chunkSize} ${c.steps}`)).seconds as number,
  );
  console.log(
    `crafting ${c.name}: ${c.chunks} chunks of ${chunkSize}, ${c.steps} steps, ${threads} threads, median of ${rounds} rounds`,
  );
  printPrecisionCase(`craft.targeted.${c.name}`, t);
}
reference.close();
