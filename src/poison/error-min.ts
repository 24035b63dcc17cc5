// Unlearnable Examples (Huang et al., ICLR 2021): error-minimising noise by min-min bi-level optimisation.
// A fresh model of the crafter architecture (seeded) and the noise take turns: (a) the model trains for
// `trainSteps` mini-batches of x + delta (labels y; SGD lr 0.1, momentum 0.9, wd 5e-4, no augmentation),
// (b) PGD *minimises* CE(f(x + delta), y) over delta for every poisoned image (`plan.steps` signed steps of
// `plan.stepSize`, projected onto the eps ball and [0, 1], warm-started from the current delta), until the
// model's accuracy on x + delta (eval mode, after the noise update) exceeds `stopAcc` or `maxRounds` rounds
// have run. Sample-wise noise has one delta per image; class-wise noise one per class, stepped by the sign
// of the gradient summed over the class's images in each PGD batch (`plan.chunkSize` images), so a class's
// images differ only where [0, 1] clipping bites. Every round visits all poisoned images.
//
// It alternates over the whole poisoned set, so it is not crafted chunk by chunk: `craftErrorMin` runs the
// whole optimisation and saves every chunk at the end (one plan, no shards). Between rounds it checkpoints
// model, optimiser and noise in the work directory; a killed run resumes from the last finished round and,
// as every round is seeded, reaches the same bytes. The model trains on the poisoned images only (with a
// budget below 1 the clean rest plays no part). The success flags say whether the final model predicts y on
// x + delta (before quantisation).
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { buildBatch, type Dataset, Rng } from "../data/index.js";
import { createModel } from "../models/index.js";
import type { Module } from "../nn/index.js";
import { SGD } from "../optim/index.js";
import {
  decodeSafetensors,
  encodeSafetensors,
  F,
  grad,
  keep,
  manualSeed,
  noGrad,
  rand,
  randn,
  scope,
  type Tensor,
  tensor,
  zeros,
} from "../torch/index.js";
import { type ProgressTask, silentProgress } from "../train/index.js";
import { writeFileAtomic } from "../util/atomic.js";
import { quantize } from "./budget.js";
import type { ChunkStore } from "./chunk-store.js";
import type { CraftRunOptions, CraftRunStats } from "./craft.js";
import { errorMinimizing } from "./objective.js";
import { pgd } from "./pgd.js";
import { type CraftPlan, chunkCount, chunkSeed, poisonedIndices } from "./plan.js";

export type ErrorMinMode = "sample" | "class";

/** The inner optimisation's settings, kept in `plan.extra` (so the plan digest covers them). */
export interface ErrorMinSettings {
  mode: ErrorMinMode;
  /** Model training steps (mini-batches) per round. */
  trainSteps: number;
  maxRounds: number;
  /** Stop once the model's accuracy on x + delta exceeds this. */
  stopAcc: number;
  /** Mini-batch size of the model's training steps. */
  batchSize: number;
  lr: number;
  momentum: number;
  weightDecay: number;
}

export const ERROR_MIN_DEFAULTS: Readonly<ErrorMinSettings> = {
  mode: "sample",
  trainSteps: 10,
  maxRounds: 10,
  stopAcc: 0.99,
  batchSize: 128,
  lr: 0.1,
  momentum: 0.9,
  weightDecay: 5e-4,
};

/** The settings in `extra` (absent ones take the defaults), checked. */
export function errorMinSettings(extra: CraftPlan["extra"]): ErrorMinSettings {
  const num = (key: keyof ErrorMinSettings, ok: (v: number) => boolean): number => {
    const v = extra[key] ?? ERROR_MIN_DEFAULTS[key];
    if (typeof v !== "number" || !ok(v)) throw new RangeError(`error-min: invalid ${key} ${JSON.stringify(v)}`);
    return v;
  };
  const posInt = (v: number) => Number.isInteger(v) && v >= 1;
  const mode = extra.mode ?? ERROR_MIN_DEFAULTS.mode;
  if (mode !== "sample" && mode !== "class")
    throw new RangeError(`error-min: mode must be sample or class, got ${mode}`);
  return {
    mode,
    trainSteps: num("trainSteps", (v) => Number.isInteger(v) && v >= 0),
    maxRounds: num("maxRounds", posInt),
    stopAcc: num("stopAcc", (v) => v >= 0 && v <= 1),
    batchSize: num("batchSize", posInt),
    lr: num("lr", (v) => v > 0),
    momentum: num("momentum", (v) => v >= 0 && v <= 1),
    weightDecay: num("weightDecay", (v) => v >= 0),
  };
}

export interface ErrorMinRound {
  round: number;
  /** Mean training loss of the round's model steps (on x + delta). */
  trainLoss: number;
  /** The model's accuracy on x + delta after the round's noise update. */
  accuracy: number;
}

export interface ErrorMinStats extends CraftRunStats {
  /** Every round run so far, including those restored from a checkpoint. */
  history: ErrorMinRound[];
  /** Rounds restored from the work directory's checkpoint instead of run in this call. */
  resumedRounds: number;
}

const STATE_FILE = "error-min-state.safetensors";
const FORMAT = "advpoison-error-min/1";
const MOMENTUM = "optimizer.momentum.";
const MODEL = "model.";

interface State {
  roundsDone: number;
  stopped: boolean;
  history: ErrorMinRound[];
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Runs Huang et al.'s min-min optimisation for every poisoned image of `ds` under `plan` (recipe error-min)
 * with a fresh model of architecture `arch`, and saves all chunks to `store`. Nothing is done when the
 * store already has every chunk.
 */
export async function craftErrorMin(
  ds: Dataset,
  plan: CraftPlan,
  arch: string,
  store: ChunkStore,
  options: Omit<CraftRunOptions, "shard"> = {},
): Promise<ErrorMinStats> {
  if (plan.recipe !== "error-min") throw new Error(`craftErrorMin: plan is for recipe '${plan.recipe}'`);
  if (plan.extra.model !== undefined && plan.extra.model !== arch)
    throw new Error(`craftErrorMin: the plan names model '${plan.extra.model}', not '${arch}'`);
  const progress = options.progress ?? silentProgress;
  const settings = errorMinSettings(plan.extra);
  const poisoned = poisonedIndices(ds.count, plan.budget, plan.seed);
  const chunks = chunkCount(poisoned.length, plan.chunkSize);
  const t0 = performance.now();
  if (Array.from({ length: chunks }, (_, k) => k).every((k) => store.has(k))) {
    progress.log("all chunks were already crafted");
    return { chunksDone: 0, chunksSkipped: chunks, imagesCrafted: 0, seconds: 0, history: [], resumedRounds: 0 };
  }
  const run = new MinMin(ds, plan, settings, arch, poisoned, options.device);
  const statePath = join(store.dir, STATE_FILE);
  try {
    let state: State = { roundsDone: 0, stopped: false, history: [] };
    const restored = run.restore(statePath, store.digest);
    if (restored) {
      state = restored;
      progress.log(`resuming error-min after round ${state.roundsDone}/${settings.maxRounds}`);
    } else {
      run.init();
    }
    const resumedRounds = state.roundsDone;
    while (!state.stopped && state.roundsDone < settings.maxRounds) {
      const r = state.roundsDone;
      // Everything random in a round derives from (seed, round), so a resumed run repeats it exactly.
      manualSeed(chunkSeed(plan.seed, 1_000_000 + r));
      const label = `error-min round ${r + 1}/${settings.maxRounds}`;
      const trainLoss = await run.trainSteps(r);
      const task = progress.start(`${label}: noise`, poisoned.length, "img");
      const accuracy = await run.updateNoise(task);
      state = {
        roundsDone: r + 1,
        stopped: accuracy > settings.stopAcc,
        history: [...state.history, { round: r + 1, trainLoss, accuracy }],
      };
      task.finish(
        `${label}: train loss ${trainLoss.toFixed(4)}, accuracy on x + delta ${(100 * accuracy).toFixed(2)}%` +
          (state.stopped ? ` > ${100 * settings.stopAcc}%: stop` : ""),
      );
      run.save(statePath, store.digest, state);
    }
    const seconds = (performance.now() - t0) / 1000;
    run.saveChunks(store, seconds);
    rmSync(statePath, { force: true });
    return {
      chunksDone: chunks,
      chunksSkipped: 0,
      imagesCrafted: poisoned.length,
      seconds,
      history: state.history,
      resumedRounds,
    };
  } finally {
    run.dispose();
  }
}

/** The state of one min-min run: model, optimiser, noise, and the model's verdict on x + delta. */
class MinMin {
  readonly model: Module;
  readonly opt: SGD;
  readonly imageSize: number;
  /** Pixel units, N,C,H,W: one image per poisoned sample, or one per class. */
  readonly delta: Float32Array;
  /** Whether the model predicts y on x + delta, per poisoned sample (as of the last noise update). */
  correct: Uint8Array;
  readonly eps: number;
  readonly dev: { device?: string };

  constructor(
    readonly ds: Dataset,
    readonly plan: CraftPlan,
    readonly s: ErrorMinSettings,
    arch: string,
    readonly poisoned: Int32Array,
    device?: string,
  ) {
    this.dev = device ? { device } : {};
    manualSeed(plan.seed);
    this.model = createModel(arch, { inChannels: ds.channels, numClasses: ds.numClasses, imageSize: ds.height });
    if (device) this.model.to(device);
    this.opt = new SGD(this.model.parameters(), { lr: s.lr, momentum: s.momentum, weightDecay: s.weightDecay });
    this.imageSize = ds.channels * ds.height * ds.width;
    this.eps = plan.eps / 255;
    const rows = s.mode === "sample" ? poisoned.length : ds.numClasses;
    this.delta = new Float32Array(rows * this.imageSize);
    this.correct = new Uint8Array(poisoned.length);
  }

  get #shape(): number[] {
    return [this.ds.channels, this.ds.height, this.ds.width];
  }

  /** The plan's init: per chunk for sample-wise noise (inside the ball and [0, 1]), once for class-wise. */
  init(): void {
    const { plan, eps } = this;
    const draw = (shape: number[]): Tensor => {
      switch (plan.init) {
        case "zero":
          return zeros(shape);
        case "uniform":
          return rand(shape)
            .mul_(2 * eps)
            .sub_(eps);
        case "randn":
          return randn(shape).mul_(eps).clamp_(-eps, eps);
      }
    };
    noGrad(() => {
      if (this.s.mode === "class") {
        manualSeed(chunkSeed(plan.seed, 0));
        scope(() => this.delta.set(draw([this.ds.numClasses, ...this.#shape]).toTypedArray() as Float32Array));
        return;
      }
      for (let k = 0; k < chunkCount(this.poisoned.length, plan.chunkSize); k++) {
        manualSeed(chunkSeed(plan.seed, k));
        const start = k * plan.chunkSize;
        const indices = this.poisoned.slice(start, start + plan.chunkSize);
        scope(() => {
          const x = buildBatch(this.ds, indices).x;
          const projected = x.add(draw(x.shape)).clamp_(0, 1).sub_(x);
          this.delta.set(projected.toTypedArray() as Float32Array, start * this.imageSize);
        });
      }
    });
  }

  /** Delta for the poisoned samples at `positions` (sample-wise) as a tensor on the device. */
  #sampleDelta(positions: ArrayLike<number>): Tensor {
    const n = positions.length;
    const out = new Float32Array(n * this.imageSize);
    for (let b = 0; b < n; b++) {
      const p = positions[b]!;
      out.set(this.delta.subarray(p * this.imageSize, (p + 1) * this.imageSize), b * this.imageSize);
    }
    return tensor(out, [n, ...this.#shape], this.dev);
  }

  #classDelta(): Tensor {
    return tensor(this.delta, [this.ds.numClasses, ...this.#shape], this.dev);
  }

  /** x + delta for the poisoned samples at `positions`, in [0, 1], and the labels. */
  #poisonedBatch(positions: Int32Array): { input: Tensor; y: Tensor } {
    const batch = buildBatch(
      this.ds,
      Int32Array.from(positions, (p) => this.poisoned[p]!),
      this.dev,
    );
    const d = this.s.mode === "sample" ? this.#sampleDelta(positions) : this.#classDelta().indexSelect(0, batch.y);
    return { input: batch.x.add(d).clamp_(0, 1), y: batch.y };
  }

  /** (a) `trainSteps` mini-batches of x + delta, continuing a seeded shuffled pass over the poisoned set. */
  async trainSteps(round: number): Promise<number> {
    const { batchSize, trainSteps } = this.s;
    const n = this.poisoned.length;
    const perEpoch = Math.ceil(n / batchSize);
    this.model.train().requiresGrad_(true);
    let lossSum = 0;
    let order: Int32Array | undefined;
    let orderEpoch = -1;
    for (let t = 0; t < trainSteps; t++) {
      const step = round * trainSteps + t;
      const epoch = Math.floor(step / perEpoch);
      if (epoch !== orderEpoch) {
        order = new Rng(this.plan.seed, 2 * epoch).shuffle(Int32Array.from({ length: n }, (_, i) => i));
        orderEpoch = epoch;
      }
      const b = step % perEpoch;
      const positions = order!.subarray(b * batchSize, Math.min(n, (b + 1) * batchSize));
      lossSum += scope(() => {
        const { input, y } = noGrad(() => this.#poisonedBatch(positions));
        const loss = F.crossEntropy(this.model.forward(input), y);
        this.opt.zeroGrad();
        loss.backward();
        this.opt.step();
        return loss.item();
      });
      await yieldToEventLoop();
    }
    this.opt.zeroGrad();
    return trainSteps > 0 ? lossSum / trainSteps : Number.NaN;
  }

  /** (b) PGD on the noise of every poisoned image against the current model; returns its accuracy on x + delta. */
  async updateNoise(task: ProgressTask): Promise<number> {
    const { plan, eps } = this;
    const n = this.poisoned.length;
    this.model.eval().requiresGrad_(false);
    const stepSize = plan.stepSize / 255;
    for (let start = 0; start < n; start += plan.chunkSize) {
      const positions = Int32Array.from({ length: Math.min(plan.chunkSize, n - start) }, (_, i) => start + i);
      const indices = Int32Array.from(positions, (p) => this.poisoned[p]!);
      scope(() => {
        const batch = buildBatch(this.ds, indices, this.dev);
        if (this.s.mode === "sample") {
          const initial = this.#sampleDelta(positions);
          const r = pgd([this.model], batch.x, batch.y, batch.y, errorMinimizing, {
            eps,
            stepSize,
            steps: plan.steps,
            init: "zero",
            restarts: 1,
            augment: undefined,
            initial,
          });
          this.delta.set(r.delta.toTypedArray() as Float32Array, start * this.imageSize);
          r.delta.dispose();
          this.correct.set(r.success, start);
        } else {
          this.#classStep(batch.x, batch.y, stepSize);
        }
      });
      task.update(start + positions.length);
      await yieldToEventLoop();
    }
    // Class-wise noise changed during the pass: the verdict is taken with the final noise.
    if (this.s.mode === "class") await this.#evaluate();
    return this.correct.reduce((a, b) => a + b, 0) / Math.max(1, n);
  }

  /** PGD steps on the class-wise noise over one batch: each class moves by the sign of its summed gradient. */
  #classStep(x: Tensor, y: Tensor, stepSize: number): void {
    const { eps } = this;
    let cd = keep(this.#classDelta());
    for (let s = 0; s < this.plan.steps; s++) {
      const next = scope(() => {
        const d = cd.detach().requiresGrad_(true);
        const input = x.add(d.indexSelect(0, y)).clamp(0, 1);
        const loss = F.crossEntropy(this.model.forward(input), y, { reduction: "sum" });
        const [g] = grad(loss, d);
        return noGrad(() => d.detach().sub_(g!.sign(), stepSize).clamp_(-eps, eps));
      });
      cd.dispose();
      cd = keep(next);
    }
    this.delta.set(cd.toTypedArray() as Float32Array);
    cd.dispose();
  }

  async #evaluate(): Promise<void> {
    const n = this.poisoned.length;
    const size = this.plan.chunkSize;
    for (let start = 0; start < n; start += size) {
      const positions = Int32Array.from({ length: Math.min(size, n - start) }, (_, i) => start + i);
      const hits = noGrad(() =>
        scope(() => {
          const { input, y } = this.#poisonedBatch(positions);
          return this.model.forward(input).argmax(1).eq(y).toTypedArray() as Uint8Array;
        }),
      );
      this.correct.set(hits, start);
      await yieldToEventLoop();
    }
  }

  /** The released chunks: quantised x + delta (class-wise: each image's class noise), with the flags. */
  saveChunks(store: ChunkStore, seconds: number): void {
    const { ds, plan, poisoned, imageSize } = this;
    const { height: h, width: w, channels: c } = ds;
    const plane = h * w;
    for (let k = 0; k < chunkCount(poisoned.length, plan.chunkSize); k++) {
      const start = k * plan.chunkSize;
      const indices = poisoned.slice(start, start + plan.chunkSize);
      const source = new Uint8Array(indices.length * imageSize);
      const delta255 = new Float32Array(indices.length * imageSize);
      indices.forEach((i, b) => {
        source.set(ds.images.subarray(i * imageSize, (i + 1) * imageSize), b * imageSize);
        const row = this.s.mode === "sample" ? start + b : ds.labels[i]!;
        const d = this.delta.subarray(row * imageSize, (row + 1) * imageSize);
        // C,H,W pixel units to H,W,C grey levels, the layout of the uint8 images.
        for (let ch = 0; ch < c; ch++) {
          for (let q = 0; q < plane; q++) delta255[b * imageSize + q * c + ch] = d[ch * plane + q]! * 255;
        }
      });
      store.save(
        k,
        {
          indices,
          images: quantize(source, delta255, plan.eps),
          success: this.correct.slice(start, start + indices.length),
          seconds: (seconds * indices.length) / poisoned.length,
        },
        [h, w, c],
      );
    }
  }

  /** Writes model, optimiser state, noise and flags atomically in one file. */
  save(path: string, digest: string, state: State): void {
    const tensors = new Map<string, Tensor>();
    for (const [k, t] of this.model.stateDict()) tensors.set(MODEL + k, t);
    for (const [i, t] of this.opt.stateTensors()) tensors.set(`${MOMENTUM}${i}`, t);
    const own = [tensor(this.delta, [this.delta.length]), tensor(this.correct, [this.correct.length])] as const;
    tensors.set("delta", own[0]);
    tensors.set("correct", own[1]);
    try {
      const metadata = { format: FORMAT, plan: digest, state: JSON.stringify(state) };
      writeFileAtomic(path, encodeSafetensors(tensors, metadata));
    } finally {
      for (const t of own) t.dispose();
    }
  }

  /** Restores a checkpoint of the same plan, if there is one. */
  restore(path: string, digest: string): State | undefined {
    if (!existsSync(path)) return undefined;
    const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(path)), path);
    try {
      if (metadata.format !== FORMAT) throw new Error(`${path}: not an error-min checkpoint`);
      if (metadata.plan !== digest) throw new Error(`${path}: made under plan ${metadata.plan}, not ${digest}`);
      const get = (name: string): Tensor => {
        const t = tensors.get(name);
        if (!t) throw new Error(`${path}: no '${name}' tensor`);
        return t;
      };
      const delta = get("delta").toTypedArray() as Float32Array;
      const correct = get("correct").toTypedArray() as Uint8Array;
      if (delta.length !== this.delta.length || correct.length !== this.correct.length)
        throw new Error(`${path}: noise of another size`);
      const modelState = new Map<string, Tensor>();
      const momentum = new Map<number, Tensor>();
      for (const [k, t] of tensors) {
        if (k.startsWith(MODEL)) modelState.set(k.slice(MODEL.length), t);
        else if (k.startsWith(MOMENTUM)) momentum.set(Number(k.slice(MOMENTUM.length)), t);
      }
      this.model.loadStateDict(modelState);
      this.opt.loadStateTensors(momentum);
      this.delta.set(delta);
      this.correct = correct.slice();
      return JSON.parse(metadata.state ?? "") as State;
    } finally {
      for (const t of tensors.values()) t.dispose();
    }
  }

  dispose(): void {
    this.opt.dispose();
    this.model.dispose();
  }
}
