// A tiny crafted release on generated data (12 MNIST-style 8x6 images, half of them poisoned with uniform
// noise in chunks of 4), for the chunk-store and verify tests: no dataset on disk, no model, milliseconds; and a
// targeted plan over it with a linear crafting model, for the tests of the adversarial methods' options.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Dataset, loadDataset } from "../../src/data/index.js";
import { Flatten, Linear, type Module, Sequential } from "../../src/nn/index.js";
import {
  ChunkStore,
  type CraftPlan,
  craftShard,
  methodOf,
  methodSettings,
  shiftPermutation,
} from "../../src/poison/index.js";
import { manualSeed } from "../../src/torch/index.js";
import { tempDir, writeIdxFixture } from "../data/fixtures.js";

export interface Synthetic {
  root: string;
  train: Dataset;
  test: Dataset;
  plan: CraftPlan;
}

export function syntheticSource(): Synthetic {
  const root = tempDir();
  const fx = writeIdxFixture(join(root, "source"), true, 12, 5);
  const spec = `mnist:${fx.dir}`;
  const { train, test } = loadDataset(spec);
  const plan: CraftPlan = {
    recipe: "random",
    eps: 8,
    steps: 1,
    stepSize: 1,
    init: "uniform",
    restarts: 1,
    augment: null,
    chunkSize: 4,
    budget: 0.5,
    seed: 1,
    permutation: shiftPermutation(10),
    dataset: { spec, dataDir: null, subset: null, count: train.count, shape: [8, 6, 1] },
    crafters: [],
    extra: {},
  };
  return { root, train, test, plan };
}

/** Crafts every chunk of `s.plan` into a new work directory `name` under s.root. */
export async function craftedStore(s: Synthetic, name: string): Promise<ChunkStore> {
  const store = ChunkStore.open(join(s.root, name), s.plan);
  await craftShard(s.train, s.plan, [], store);
  return store;
}

export const chunkPath = (store: ChunkStore, k: number) =>
  join(store.dir, `chunk-${String(k).padStart(6, "0")}.safetensors`);

/** Changes one byte of tensor `name`'s data in a safetensors file, leaving the file well-formed. */
export function flipTensorByte(file: string, name: string, offset: number): void {
  const bytes = new Uint8Array(readFileSync(file));
  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  const begin = 8 + headerLength + header[name].data_offsets[0] + offset;
  bytes[begin] = bytes[begin]! ^ 0x80;
  writeFileSync(file, bytes);
}

/** A linear model of the synthetic 8x6 grey images, frozen as crafting models are. */
export function linearModel(seed: number): Module {
  manualSeed(seed);
  const m = new Sequential(new Flatten(), new Linear(48, 10));
  m.eval().requiresGrad_(false);
  return m;
}

/** The synthetic source with a targeted plan over all 12 images in chunks of 4. */
export function targetedSource(extra: Record<string, unknown>): Synthetic {
  const s = syntheticSource();
  const plan: CraftPlan = {
    ...s.plan,
    recipe: "targeted",
    eps: 16,
    steps: 5,
    stepSize: 3.2,
    init: "randn",
    // Random views: the class-wise part draws from the generator, before the chunks do.
    augment: { kind: "authors", shift: 1, flip: true, fill: [0.5] },
    budget: 1,
    extra: methodSettings(methodOf("targeted"), extra) as CraftPlan["extra"],
  };
  return { ...s, plan };
}
