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
// model, optimiser and noise in the work directory (a training checkpoint, src/train/checkpoint.ts); a killed
// run resumes from the last finished round and, as every round is seeded, reaches the same bytes. The model trains on the poisoned images only (with a
// budget below 1 the clean rest plays no part). The success flags say whether the final model predicts y on
// x + delta (before quantisation). With the plan's precision bf16 the model's forward passes run under bf16
// autocast (weights, optimiser and noise stay fp32, as PyTorch's bf16 AMP), for both the model's steps and PGD.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { buildBatch, type Dataset, Rng, readImages } from "../../data/index.js";
import { Module } from "../../nn/index.js";
import { SGD } from "../../optim/index.js";
import {
  F,
  inPrecision,
  keep,
  manualSeed,
  noGrad,
  type Precision,
  scope,
  type Tensor,
  tensor,
} from "../../torch/index.js";
import {
  freshModel,
  loadCheckpoint,
  type ProgressTask,
  saveCheckpoint,
  silentProgress,
  specOf,
} from "../../train/index.js";
import { yieldToEventLoop } from "../../util/event-loop.js";
import { pixelUnits, quantize, toGreyLevelsNHWC } from "../budget.js";
import type { ChunkSink, CraftRunOptions, CraftRunStats } from "../craft-run.js";
import { errorMinimizing } from "../objective.js";
import { descend, initDelta, intoPixelRange, pgd } from "../pgd.js";
import { type CraftPlan, chunkCount, chunkSeed, planMethod, poisonedIndices, precisionOf } from "../plan.js";
import { methodSettings, type WholeSetMethod } from "./method.js";

export type ErrorMinMode = "sample" | "class";

/** The inner optimisation's settings, kept in `plan.extra` (so the plan digest covers them); Huang et al.'s defaults. */
export const ERROR_MIN_SETTINGS = z.strictObject({
  /** Architecture of the min-min model, trained from scratch. */
  model: z.string().default("smallcnn-bn"),
  mode: z.enum(["sample", "class"]).default("sample"),
  /** Model training steps (mini-batches) per round. */
  trainSteps: z.number().int().nonnegative().default(10),
  maxRounds: z.number().int().positive().default(10),
  /** Stop once the model's accuracy on x + delta exceeds this. */
  stopAcc: z.number().min(0).max(1).default(0.99),
  /** Mini-batch size of the model's training steps. */
  batchSize: z.number().int().positive().default(128),
  lr: z.number().positive().default(0.1),
  momentum: z.number().min(0).max(1).default(0.9),
  weightDecay: z.number().nonnegative().default(5e-4),
});

export type ErrorMinSettings = z.infer<typeof ERROR_MIN_SETTINGS>;

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

interface State {
  plan: string;
  stopped: boolean;
  history: ErrorMinRound[];
}

/**
 * Runs Huang et al.'s min-min optimisation for every poisoned image of `ds` under `plan` (method error-min)
 * with a fresh model of the settings' architecture, and saves all chunks to `store`. Nothing is done when the
 * store already has every chunk.
 */
export async function craftErrorMin(
  ds: Dataset,
  plan: CraftPlan,
  store: ChunkSink,
  options: Omit<CraftRunOptions, "shard"> = {},
): Promise<ErrorMinStats> {
  if (planMethod(plan) !== "error-min") throw new Error(`craftErrorMin: plan is for method '${planMethod(plan)}'`);
  const s = methodSettings({ name: "error-min", settings: ERROR_MIN_SETTINGS }, plan.extra);
  const progress = options.progress ?? silentProgress;
  const poisoned = poisonedIndices(ds.count, plan.budget, plan.seed);
  const chunks = chunkCount(poisoned.length, plan.chunkSize);
  const t0 = performance.now();
  if (Array.from({ length: chunks }, (_, k) => k).every((k) => store.has(k))) {
    progress.log("all chunks were already crafted");
    return { chunksDone: 0, chunksSkipped: chunks, imagesCrafted: 0, seconds: 0, history: [], resumedRounds: 0 };
  }
  const run = new MinMin(ds, plan, s, poisoned, options.device ?? "cpu");
  const statePath = join(store.dir, STATE_FILE);
  try {
    let state: State = { plan: store.digest, stopped: false, history: [] };
    const restored = run.restore(statePath, store.digest);
    if (restored) {
      state = restored;
      progress.log(`resuming error-min after round ${state.history.length}/${s.maxRounds}`);
    } else {
      run.init();
    }
    const resumedRounds = state.history.length;
    while (!state.stopped && state.history.length < s.maxRounds) {
      const r = state.history.length;
      // Everything random in a round derives from (seed, round), so a resumed run repeats it exactly.
      manualSeed(chunkSeed(plan.seed, 1_000_000 + r));
      const label = `error-min round ${r + 1}/${s.maxRounds}`;
      const trainLoss = await run.trainSteps(r);
      const task = progress.start(`${label}: noise`, poisoned.length, "img");
      const accuracy = await run.updateNoise(task);
      state = {
        plan: store.digest,
        stopped: accuracy > s.stopAcc,
        history: [...state.history, { round: r + 1, trainLoss, accuracy }],
      };
      task.finish(
        `${label}: train loss ${trainLoss.toFixed(4)}, accuracy on x + delta ${(100 * accuracy).toFixed(2)}%` +
          (state.stopped ? ` > ${100 * s.stopAcc}%: stop` : ""),
      );
      run.save(statePath, state);
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

/** A trainable model whose forward passes run in a precision (fp32: the model itself, bit for bit). */
class InPrecision extends Module {
  readonly model: Module;

  constructor(
    model: Module,
    readonly precision: Precision,
  ) {
    super();
    this.model = this.child("model", model);
  }

  forward(x: Tensor): Tensor {
    return inPrecision(this.precision, x.device, () => this.model.forward(x));
  }
}

/** The state of one min-min run: model, optimiser, noise, and the model's verdict on x + delta. */
class MinMin {
  /** The model as trained and attacked: its forward passes in the plan's precision. */
  readonly model: Module;
  /** The model itself (checkpoints hold its parameters' names). */
  readonly net: Module;
  readonly opt: SGD;
  readonly imageSize: number;
  /** Pixel units, N,C,H,W: one image per poisoned sample, or one per class. */
  readonly delta: Float32Array;
  /** Whether the model predicts y on x + delta, per poisoned sample (as of the last noise update). */
  correct: Uint8Array;
  readonly eps: number;
  readonly stepSize: number;

  constructor(
    readonly ds: Dataset,
    readonly plan: CraftPlan,
    readonly s: ErrorMinSettings,
    readonly poisoned: Int32Array,
    readonly device: string,
  ) {
    this.net = freshModel(s.model, specOf(ds), plan.seed, device);
    this.model = new InPrecision(this.net, precisionOf(plan));
    this.opt = new SGD(this.net.parameters(), { lr: s.lr, momentum: s.momentum, weightDecay: s.weightDecay });
    this.imageSize = ds.channels * ds.height * ds.width;
    ({ eps: this.eps, stepSize: this.stepSize } = pixelUnits(plan));
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
    noGrad(() => {
      if (this.s.mode === "class") {
        manualSeed(chunkSeed(plan.seed, 0));
        scope(() =>
          this.delta.set(
            initDelta([this.ds.numClasses, ...this.#shape], plan.init, eps, "cpu").toTypedArray() as Float32Array,
          ),
        );
        return;
      }
      for (let k = 0; k < chunkCount(this.poisoned.length, plan.chunkSize); k++) {
        manualSeed(chunkSeed(plan.seed, k));
        const start = k * plan.chunkSize;
        const indices = this.poisoned.slice(start, start + plan.chunkSize);
        scope(() => {
          const x = buildBatch(this.ds, indices).x;
          const projected = intoPixelRange(x, initDelta(x.shape, plan.init, eps, "cpu"));
          this.delta.set(projected.toTypedArray() as Float32Array, start * this.imageSize);
        });
      }
    });
  }

  /** Noise rows `rows` (sample-wise: poisoned positions; class-wise: classes) as [n, C, H, W] on `device`. */
  #rows(rows: ArrayLike<number>, device: string): Tensor {
    const n = rows.length;
    const out = new Float32Array(n * this.imageSize);
    for (let b = 0; b < n; b++) {
      const p = rows[b]!;
      out.set(this.delta.subarray(p * this.imageSize, (p + 1) * this.imageSize), b * this.imageSize);
    }
    return tensor(out, [n, ...this.#shape], { device });
  }

  #classDelta(): Tensor {
    return tensor(this.delta, [this.ds.numClasses, ...this.#shape], { device: this.device });
  }

  /** x + delta for the poisoned samples at `positions`, in [0, 1], and the labels. */
  #poisonedBatch(positions: Int32Array): { input: Tensor; y: Tensor } {
    const batch = buildBatch(
      this.ds,
      Int32Array.from(positions, (p) => this.poisoned[p]!),
      { device: this.device },
    );
    const d =
      this.s.mode === "sample" ? this.#rows(positions, this.device) : this.#classDelta().indexSelect(0, batch.y);
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
    const { plan, eps, stepSize } = this;
    const n = this.poisoned.length;
    this.model.eval().requiresGrad_(false);
    for (let start = 0; start < n; start += plan.chunkSize) {
      const positions = Int32Array.from({ length: Math.min(plan.chunkSize, n - start) }, (_, i) => start + i);
      const indices = Int32Array.from(positions, (p) => this.poisoned[p]!);
      scope(() => {
        const batch = buildBatch(this.ds, indices, { device: this.device });
        if (this.s.mode === "sample") {
          const initial = this.#rows(positions, this.device);
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
          this.#classStep(batch.x, batch.y);
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
  #classStep(x: Tensor, y: Tensor): void {
    const cd = descend(keep(this.#classDelta()), {
      eps: this.eps,
      stepSize: this.stepSize,
      steps: this.plan.steps,
      objective: (d) => errorMinimizing.loss(this.model.forward(x.add(d.indexSelect(0, y)).clamp(0, 1)), y, y),
      // One delta serves images of different pixels: [0, 1] is enforced on each image's input instead.
      project: (d) => d,
    });
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
  saveChunks(store: ChunkSink, seconds: number): void {
    const { ds, plan, poisoned } = this;
    for (let k = 0; k < chunkCount(poisoned.length, plan.chunkSize); k++) {
      const start = k * plan.chunkSize;
      const indices = poisoned.slice(start, start + plan.chunkSize);
      const source = readImages(ds, indices);
      const rows = this.s.mode === "sample" ? indices.map((_, b) => start + b) : indices.map((i) => ds.labels[i]!);
      const delta255 = scope(() => toGreyLevelsNHWC(this.#rows(rows, "cpu")));
      store.save(
        k,
        {
          indices,
          images: quantize(source, delta255, plan.eps),
          success: this.correct.slice(start, start + indices.length),
          seconds: (seconds * indices.length) / poisoned.length,
        },
        [ds.height, ds.width, ds.channels],
      );
    }
  }

  /** Model, optimiser state, noise and flags, atomically in one training checkpoint. */
  save(path: string, state: State): void {
    const own = new Map([
      ["delta", tensor(this.delta, [this.delta.length])],
      ["correct", tensor(this.correct, [this.correct.length])],
    ]);
    try {
      saveCheckpoint(path, this.net, this.opt, { epochsDone: state.history.length, info: state }, own);
    } finally {
      for (const t of own.values()) t.dispose();
    }
  }

  /** Restores a checkpoint of the same plan, if there is one. */
  restore(path: string, digest: string): State | undefined {
    const saved = loadCheckpoint<State>(path, this.net, this.opt, ({ info }, extra) => {
      if (info.plan !== digest) throw new Error(`${path}: made under plan ${info.plan}, not ${digest}`);
      const delta = extra.get("delta")?.toTypedArray() as Float32Array | undefined;
      const correct = extra.get("correct")?.toTypedArray() as Uint8Array | undefined;
      if (delta?.length !== this.delta.length || correct?.length !== this.correct.length)
        throw new Error(`${path}: no noise of this run's size`);
      this.delta.set(delta);
      this.correct = correct.slice();
    });
    return saved?.info;
  }

  dispose(): void {
    this.opt.dispose();
    this.net.dispose();
  }
}

export const errorMin: WholeSetMethod<typeof ERROR_MIN_SETTINGS> = {
  name: "error-min",
  citation: "Huang et al. 2021, unlearnable examples",
  needsCrafter: false,
  ownModel: true,
  augments: false,
  attacks: true,
  restartable: false,
  defaults: { steps: 20, tau: 0.1, init: "uniform" },
  budget: () => "linf",
  success: { short: "learnt", long: "classified correctly by the min-min model (the noise is learnt)" },
  settings: ERROR_MIN_SETTINGS,
  flags: [
    {
      flags: "--em-mode <mode>",
      key: "mode",
      description: "error-min noise: sample (one per image) or class (one per class)",
    },
    {
      flags: "--em-train-steps <n>",
      key: "trainSteps",
      description: "error-min: model training steps per round",
      parse: Number,
    },
    {
      flags: "--em-max-rounds <n>",
      key: "maxRounds",
      description: "error-min: most train+noise rounds",
      parse: Number,
    },
    {
      flags: "--em-stop-acc <x>",
      key: "stopAcc",
      description: "error-min: stop once the model's accuracy on x + delta exceeds this",
      parse: Number,
    },
    {
      flags: "--em-batch-size <n>",
      key: "batchSize",
      description: "error-min: the model's mini-batch size",
      parse: Number,
    },
  ],
  chunked: false,
  craftAll: (ds, plan, _settings, store, options) => craftErrorMin(ds, plan, store, options),
};
