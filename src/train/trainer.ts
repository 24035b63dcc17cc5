// The training loop: seeded, resumable at any epoch boundary, with progress and per-epoch checkpoints.
import { DataLoader, type Dataset, type Normalization } from "../data/index.js";
import { firstNonFinite, type Module } from "../nn/index.js";
import { SGD } from "../optim/index.js";
import { F, inPrecision, manualSeed, type Precision, scope, type Tensor, zeros } from "../torch/index.js";
import { yieldToEventLoop } from "../util/event-loop.js";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint.js";
import { evaluate } from "./evaluate.js";
import { type Progress, silentProgress } from "./progress.js";
import { type Recipe, scheduleOf } from "./recipe.js";

export interface EpochRecord {
  epoch: number;
  lr: number;
  trainLoss: number;
  trainAcc: number;
  /** Clean test accuracy after the epoch, when a test set was given. */
  testAcc?: number;
  /** Accuracy on the validation set after the epoch, when one was given (to choose an epoch without the test set). */
  valAcc?: number;
  seconds: number;
}

export interface TrainOptions {
  recipe: Recipe;
  seed: number;
  normalize?: Normalization;
  device?: string;
  /**
   * bf16: forward passes under autocast (as PyTorch's bf16 AMP: no grad scaler), while parameters, optimiser
   * state and the loss stay fp32; evaluation after each epoch too. Default fp32, bit-identical to not asking.
   */
  precision?: Precision;
  /** Evaluated after every epoch, for accuracy curves. */
  testSet?: Dataset;
  /** Evaluated after every epoch too: held-out data on which a defender picks the epoch to stop at. */
  validationSet?: Dataset;
  /** Written atomically after every epoch; with `resume`, training continues from it. */
  checkpoint?: string;
  resume?: boolean;
  progress?: Progress;
  /** Prefix of progress labels, e.g. "victim 2/3". */
  label?: string;
  /**
   * Called after each epoch with its number (1-based) and the model, before the epoch is checkpointed: what it
   * writes for an epoch exists whenever that epoch can be resumed from (e.g. snapshots for a checkpoint ensemble).
   */
  onEpoch?: (epoch: number, model: Module) => void;
  /**
   * Replaces each training batch before the forward pass (a defence: augmentation, adversarial examples),
   * inside the step's scope. `target`: class probabilities [B, C] to train on instead of y (mixup, cutmix).
   */
  batchTransform?: (
    batch: { x: Tensor; y: Tensor },
    step: { model: Module; epoch: number; index: number },
  ) => { x: Tensor; target?: Tensor };
}

export interface TrainResult {
  history: EpochRecord[];
  seconds: number;
  /** Epochs restored from a checkpoint instead of trained in this call. */
  resumedEpochs: number;
}

interface RunInfo {
  recipe: Recipe;
  seed: number;
  /** Absent in checkpoints from before precisions existed, which were all fp32. */
  precision?: Precision;
  history: EpochRecord[];
}

/** A run whose loss or weights stopped being finite: nothing of its last epoch was checkpointed. */
export class TrainingDiverged extends Error {
  constructor(what: string, epoch: number, lr: number) {
    super(
      `training diverged in epoch ${epoch + 1}: ${what} (learning rate ${lr} too high?); its last epoch was not saved`,
    );
  }
}

export async function train(model: Module, trainSet: Dataset, options: TrainOptions): Promise<TrainResult> {
  const { recipe: r, seed } = options;
  const precision = options.precision ?? "fp32";
  const progress = options.progress ?? silentProgress;
  const opt = new SGD(model.parameters(), {
    lr: r.lr,
    momentum: r.momentum,
    nesterov: r.nesterov && r.momentum > 0,
    weightDecay: r.weightDecay,
  });
  const schedule = scheduleOf(r);
  const loader = new DataLoader(trainSet, {
    batchSize: r.batchSize,
    shuffle: true,
    seed,
    augment: { cropPadding: r.cropPadding, flip: r.flip },
    normalize: options.normalize,
    device: options.device,
  });
  let history: EpochRecord[] = [];
  let start = 0;
  if (options.resume && options.checkpoint) {
    const path = options.checkpoint;
    // Checked before anything is loaded: a refused checkpoint leaves the model as it was.
    const saved = loadCheckpoint<RunInfo>(path, model, opt, ({ info }) => {
      if (JSON.stringify(info.recipe) !== JSON.stringify(r) || info.seed !== seed) {
        throw new Error(`${path}: checkpoint was made with another recipe or seed; remove it or drop --resume`);
      }
      if ((info.precision ?? "fp32") !== precision) {
        throw new Error(
          `${path}: checkpoint was trained in ${info.precision ?? "fp32"}, not ${precision}; resume in that precision`,
        );
      }
    });
    if (saved) {
      start = saved.epochsDone;
      history = saved.info.history;
      progress.log(`resuming from ${options.checkpoint} after epoch ${start}/${r.epochs}`);
    }
  }
  const t0 = performance.now();
  const prefix = options.label ? `${options.label} ` : "";
  try {
    for (let epoch = start; epoch < r.epochs; epoch++) {
      // Everything random in an epoch derives from (seed, epoch), so a resumed run repeats it exactly.
      manualSeed(seed * 1000 + epoch);
      const e0 = performance.now();
      model.train();
      const task = progress.start(`${prefix}epoch ${epoch + 1}/${r.epochs}`, loader.length, "batch");
      const lossSum = zeros([], { dtype: "float64", device: options.device });
      const correct = zeros([], { dtype: "int64", device: options.device });
      let seen = 0;
      let b = 0;
      for (const batch of loader.epoch(epoch)) {
        opt.lr = schedule(epoch + b / loader.length);
        scope(() => {
          const t = options.batchTransform?.(batch, { model, epoch, index: b });
          const logits = inPrecision(precision, options.device, () => model.forward(t?.x ?? batch.x));
          const loss = F.crossEntropy(logits, t?.target ?? batch.y, { labelSmoothing: r.labelSmoothing });
          opt.zeroGrad();
          loss.backward();
          opt.step();
          // Kept on the device and read only when shown: no per-step synchronisation on a GPU.
          lossSum.add_(loss.detach().mul(batch.y.size(0)));
          correct.add_(logits.argmax(1).eq(batch.y).sum());
        });
        seen += batch.y.size(0);
        batch.dispose();
        b++;
        if (b % 10 === 0 || b === loader.length) {
          // Read every 10 batches anyway (no extra synchronisation): a diverged run stops here.
          if (!Number.isFinite(lossSum.item()))
            throw new TrainingDiverged(`the loss is not finite by batch ${b}`, epoch, opt.lr);
          const secs = (performance.now() - e0) / 1000;
          task.update(b, {
            loss: (lossSum.item() / seen).toFixed(3),
            acc: `${((100 * correct.item()) / seen).toFixed(1)}%`,
            "img/s": Math.round(seen / secs),
          });
        }
        await yieldToEventLoop();
      }
      const record: EpochRecord = {
        epoch: epoch + 1,
        lr: opt.lr,
        trainLoss: lossSum.item() / seen,
        trainAcc: correct.item() / seen,
        seconds: (performance.now() - e0) / 1000,
      };
      lossSum.dispose();
      correct.dispose();
      const accuracyOn = (ds: Dataset) =>
        evaluate(model, ds, {
          precision,
          normalize: options.normalize,
          device: options.device,
        }).accuracy;
      if (options.validationSet) record.valAcc = accuracyOn(options.validationSet);
      if (options.testSet) record.testAcc = accuracyOn(options.testSet);
      history.push(record);
      const val = record.valAcc === undefined ? "" : `, validation acc ${(100 * record.valAcc).toFixed(2)}%`;
      const test = `${val}${record.testAcc === undefined ? "" : `, test acc ${(100 * record.testAcc).toFixed(2)}%`}`;
      task.finish(
        `${prefix}epoch ${epoch + 1}/${r.epochs}: loss ${record.trainLoss.toFixed(4)}, train acc ${(100 * record.trainAcc).toFixed(2)}%${test}, ${record.seconds.toFixed(1)} s`,
      );
      // The last steps may have broken the weights while the epoch's losses stayed finite: never checkpoint those.
      const broken = firstNonFinite(model);
      if (broken !== undefined) throw new TrainingDiverged(`${broken} is not finite`, epoch, opt.lr);
      options.onEpoch?.(epoch + 1, model);
      if (options.checkpoint) {
        saveCheckpoint<RunInfo>(options.checkpoint, model, opt, {
          epochsDone: epoch + 1,
          info: { recipe: r, seed, precision, history },
        });
      }
    }
  } finally {
    opt.dispose();
  }
  return { history, seconds: (performance.now() - t0) / 1000, resumedEpochs: start };
}
