// Functional ops in the spirit of torch.nn.functional; the nn modules are thin layers over these.
import { native } from "./native.js";
import { Tensor } from "./tensor.js";

type Pair = number | [number, number];
const pair = (v: Pair): [number, number] => (typeof v === "number" ? [v, v] : v);

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor, o: Conv2dOptions = {}): Tensor {
  return new Tensor(
    native.conv2d(
      x.handle,
      weight.handle,
      bias?.handle,
      pair(o.stride ?? 1),
      pair(o.padding ?? 0),
      pair(o.dilation ?? 1),
      o.groups ?? 1,
    ),
  );
}

export interface BatchNormOptions {
  weight?: Tensor;
  bias?: Tensor;
  runningMean?: Tensor;
  runningVar?: Tensor;
  training: boolean;
  momentum?: number;
  eps?: number;
}
/** Batch norm over dim 1; in training mode the running statistics are updated in place. */
export function batchNorm(x: Tensor, o: BatchNormOptions): Tensor {
  return new Tensor(
    native.batchNorm(
      x.handle,
      o.weight?.handle,
      o.bias?.handle,
      o.runningMean?.handle,
      o.runningVar?.handle,
      o.training,
      o.momentum ?? 0.1,
      o.eps ?? 1e-5,
    ),
  );
}

export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  return new Tensor(native.linear(x.handle, weight.handle, bias?.handle));
}

export const relu = (x: Tensor): Tensor => new Tensor(native.relu(x.handle));
export const relu6 = (x: Tensor): Tensor => new Tensor(native.hardtanh(x.handle, 0, 6));
export const sigmoid = (x: Tensor): Tensor => new Tensor(native.sigmoid(x.handle));
export const tanh = (x: Tensor): Tensor => new Tensor(native.tanh(x.handle));
export const gelu = (x: Tensor): Tensor => new Tensor(native.gelu(x.handle));
export const silu = (x: Tensor): Tensor => new Tensor(native.silu(x.handle));
export const softplus = (x: Tensor): Tensor => new Tensor(native.softplus(x.handle));
export const elu = (x: Tensor, alpha = 1): Tensor => new Tensor(native.elu(x.handle, alpha));
export const leakyRelu = (x: Tensor, slope = 0.01): Tensor => new Tensor(native.leakyRelu(x.handle, slope));
export const hardtanh = (x: Tensor, min = -1, max = 1): Tensor => new Tensor(native.hardtanh(x.handle, min, max));
export const softmax = (x: Tensor, dim: number): Tensor => new Tensor(native.softmax(x.handle, dim));
export const logSoftmax = (x: Tensor, dim: number): Tensor => new Tensor(native.logSoftmax(x.handle, dim));

export interface PoolOptions {
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
}
export function maxPool2d(x: Tensor, kernel: Pair, o: PoolOptions & { dilation?: Pair } = {}): Tensor {
  return new Tensor(
    native.maxPool2d(
      x.handle,
      pair(kernel),
      pair(o.stride ?? kernel),
      pair(o.padding ?? 0),
      pair(o.dilation ?? 1),
      o.ceilMode ?? false,
    ),
  );
}
export function avgPool2d(x: Tensor, kernel: Pair, o: PoolOptions & { countIncludePad?: boolean } = {}): Tensor {
  return new Tensor(
    native.avgPool2d(
      x.handle,
      pair(kernel),
      pair(o.stride ?? kernel),
      pair(o.padding ?? 0),
      o.ceilMode ?? false,
      o.countIncludePad ?? true,
    ),
  );
}
export function adaptiveAvgPool2d(x: Tensor, size: Pair): Tensor {
  return new Tensor(native.adaptiveAvgPool2d(x.handle, pair(size)));
}
export function dropout(x: Tensor, p: number, training: boolean): Tensor {
  return new Tensor(native.dropout(x.handle, p, training));
}

export type Reduction = "mean" | "sum" | "none";
export interface CrossEntropyOptions {
  weight?: Tensor;
  reduction?: Reduction;
  ignoreIndex?: number;
  labelSmoothing?: number;
}
/** Cross-entropy of logits against class indices (int64) or class probabilities (float, same shape). */
export function crossEntropy(logits: Tensor, target: Tensor, o: CrossEntropyOptions = {}): Tensor {
  return new Tensor(
    native.crossEntropy(
      logits.handle,
      target.handle,
      o.weight?.handle,
      o.reduction ?? "mean",
      o.ignoreIndex ?? -100,
      o.labelSmoothing ?? 0,
    ),
  );
}
export function nllLoss(logProbs: Tensor, target: Tensor, o: Omit<CrossEntropyOptions, "labelSmoothing"> = {}): Tensor {
  return new Tensor(
    native.nllLoss(logProbs.handle, target.handle, o.weight?.handle, o.reduction ?? "mean", o.ignoreIndex ?? -100),
  );
}
export function mseLoss(a: Tensor, b: Tensor, reduction: Reduction = "mean"): Tensor {
  return new Tensor(native.mseLoss(a.handle, b.handle, reduction));
}

/** Sampling grid for affine maps theta [N,2,3] over an output of `size` [N,C,H,W]. */
export function affineGrid(theta: Tensor, size: readonly number[], alignCorners = false): Tensor {
  return new Tensor(native.affineGrid(theta.handle, [...size], alignCorners));
}
export interface GridSampleOptions {
  mode?: "bilinear" | "nearest" | "bicubic";
  padding?: "zeros" | "border" | "reflection";
  alignCorners?: boolean;
}
export function gridSample(x: Tensor, grid: Tensor, o: GridSampleOptions = {}): Tensor {
  return new Tensor(
    native.gridSample(x.handle, grid.handle, o.mode ?? "bilinear", o.padding ?? "zeros", o.alignCorners ?? false),
  );
}
/** Resizes N,C,H,W input to `size` [H, W]. */
export function interpolate(
  x: Tensor,
  size: [number, number],
  mode: "nearest" | "bilinear" | "bicubic" = "nearest",
  alignCorners = false,
): Tensor {
  return new Tensor(native.interpolate(x.handle, size, mode, alignCorners));
}
/** Pads the last dims: pads = [left, right, top, bottom, ...] as torch.nn.functional.pad. */
export function pad(
  x: Tensor,
  pads: readonly number[],
  mode: "constant" | "reflect" | "replicate" | "circular" = "constant",
  value = 0,
): Tensor {
  return new Tensor(native.pad(x.handle, [...pads], mode, value));
}
export function oneHot(labels: Tensor, numClasses: number): Tensor {
  return new Tensor(native.oneHot(labels.handle, numClasses));
}

export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  return new Tensor(
    native.cat(
      tensors.map((t) => t.handle),
      dim,
    ),
  );
}
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  return new Tensor(
    native.stack(
      tensors.map((t) => t.handle),
      dim,
    ),
  );
}
/** cond ? a : b, element-wise with broadcasting. */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  const h = (v: Tensor | number) => (typeof v === "number" ? v : v.handle);
  return new Tensor(native.where(cond.handle, h(a), h(b)));
}
export function bincount(x: Tensor, minlength = 0): Tensor {
  return new Tensor(native.bincount(x.handle, minlength));
}
