// Clean test accuracy, per-class accuracy and the confusion matrix of a classifier.
import { DataLoader, type Dataset, type Normalization } from "../data/index.js";
import type { Module } from "../nn/index.js";
import { F, inPrecision, noGrad, type Precision, scope, zeros } from "../torch/index.js";

export interface Evaluation {
  accuracy: number;
  loss: number;
  /** Accuracy of each true class (NaN for a class with no samples). */
  perClass: number[];
  /** confusion[true][predicted] counts. */
  confusion: number[][];
  count: number;
}

export interface EvaluateOptions {
  batchSize?: number;
  normalize?: Normalization;
  device?: string;
  /** bf16: the forward passes under autocast (logits and loss fp32); default fp32. */
  precision?: Precision;
}

export function evaluate(model: Module, ds: Dataset, options: EvaluateOptions = {}): Evaluation {
  const C = ds.numClasses;
  const loader = new DataLoader(ds, {
    batchSize: options.batchSize ?? 512,
    normalize: options.normalize,
    device: options.device,
  });
  const wasTraining = model.training;
  model.eval();
  // Accumulated on the model's device and read once at the end: no synchronisation per batch.
  const on = options.device ? { device: options.device } : {};
  const counts = zeros([C * C], { dtype: "int64", ...on });
  const lossSum = zeros([], { dtype: "float64", ...on });
  try {
    noGrad(() => {
      for (const batch of loader.epoch(0)) {
        scope(() => {
          const logits = inPrecision(options.precision ?? "fp32", options.device, () => model.forward(batch.x));
          // Each (true, predicted) pair as one bin index, counted in one pass.
          counts.add_(F.bincount(batch.y.mul(C).add(logits.argmax(1)), C * C));
          lossSum.add_(F.crossEntropy(logits, batch.y, { reduction: "sum" }));
        });
        batch.dispose();
      }
    });
    const flat = counts.toArray();
    const confusion = Array.from({ length: C }, (_, t) => flat.slice(t * C, (t + 1) * C));
    const correct = confusion.reduce((s, row, t) => s + (row[t] ?? 0), 0);
    return {
      accuracy: correct / ds.count,
      loss: lossSum.item() / ds.count,
      perClass: confusion.map((row, t) => (row[t] ?? 0) / row.reduce((a, b) => a + b, 0)),
      confusion,
      count: ds.count,
    };
  } finally {
    counts.dispose();
    lossSum.dispose();
    model.train(wasTraining);
  }
}
