// Loads the libtorch addon and types its functions. Everything else in src/torch wraps these.

import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { NativeOps } from "./ops.js";

/** An opaque handle owning one at::Tensor in native memory. */
export interface NativeHandle {
  dispose(): void;
  readonly isDisposed: boolean;
}

type H = NativeHandle;
type HS = H | number;
type Opt<T> = T | undefined;

/** The addon: the ops of the tables in ops.ts, and every other function, typed one by one. */
export interface NativeTorch extends NativeOps<NativeHandle> {
  readonly TensorHandle: abstract new () => NativeHandle;
  readonly torchVersion: string;
  // creation and metadata
  fromBytes(bytes: Uint8Array, shape: number[], dtype: string, device?: string): H;
  toBytes(t: H): ArrayBuffer;
  item(t: H): number | boolean;
  zeros(shape: number[], dtype?: string, device?: string): H;
  ones(shape: number[], dtype?: string, device?: string): H;
  empty(shape: number[], dtype?: string, device?: string): H;
  full(shape: number[], value: number | boolean, dtype?: string, device?: string): H;
  arange(start: number, end: number, step: number, dtype?: string, device?: string): H;
  rand(shape: number[], dtype?: string, device?: string): H;
  randn(shape: number[], dtype?: string, device?: string): H;
  randint(low: number, high: number, shape: number[], device?: string): H;
  randperm(n: number, device?: string): H;
  uniform_(t: H, low: number, high: number): H;
  normal_(t: H, mean: number, std: number): H;
  bernoulli_(t: H, p: number): H;
  manualSeed(seed: number): void;
  getRngState(): H;
  setRngState(state: H): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  cudaIsAvailable(): boolean;
  shape(t: H): number[];
  dtype(t: H): string;
  device(t: H): string;
  numel(t: H): number;
  to(t: H, dtype?: string, device?: string, memoryFormat?: string): H;
  clone(t: H): H;
  contiguous(t: H, memoryFormat?: string): H;
  isContiguous(t: H, memoryFormat?: string): boolean;
  detach(t: H): H;
  copy_(t: H, src: H): H;
  fill_(t: H, value: number | boolean): H;
  // element-wise and reductions
  add(a: H, b: HS, alpha?: number): H;
  sub(a: H, b: HS, alpha?: number): H;
  add_(a: H, b: HS, alpha?: number): H;
  addcmul_(a: H, b: H, c: H, value: number): H;
  addcdiv_(a: H, b: H, c: H, value: number): H;
  clamp_(a: H, min: Opt<HS>, max: Opt<HS>): H;
  clamp(a: H, min: Opt<HS>, max: Opt<HS>): H;
  where(cond: H, a: HS, b: HS): H;
  sum(a: H, dims?: number[], keepdim?: boolean): H;
  mean(a: H, dims?: number[], keepdim?: boolean): H;
  amax(a: H, dims?: number[], keepdim?: boolean): H;
  amin(a: H, dims?: number[], keepdim?: boolean): H;
  var(a: H, dims?: number[], keepdim?: boolean, unbiased?: boolean): H;
  std(a: H, dims?: number[], keepdim?: boolean, unbiased?: boolean): H;
  norm(a: H, p: number, dims?: number[], keepdim?: boolean): H;
  argmax(a: H, dim?: number, keepdim?: boolean): H;
  argmin(a: H, dim?: number, keepdim?: boolean): H;
  topk(a: H, k: number, dim?: number, largest?: boolean, sorted?: boolean): [H, H];
  maxDim(a: H, dim: number, keepdim?: boolean): [H, H];
  minDim(a: H, dim: number, keepdim?: boolean): [H, H];
  any(a: H): H;
  all(a: H): H;
  equal(a: H, b: H): boolean;
  allclose(a: H, b: H, rtol: number, atol: number): boolean;
  bincount(a: H, minlength?: number): H;
  // shape and indexing
  cat(ts: H[], dim: number): H;
  stack(ts: H[], dim: number): H;
  reshape(a: H, shape: number[]): H;
  view(a: H, shape: number[]): H;
  permute(a: H, dims: number[]): H;
  transpose(a: H, d0: number, d1: number): H;
  expand(a: H, shape: number[]): H;
  repeat(a: H, reps: number[]): H;
  flatten(a: H, start?: number, end?: number): H;
  unsqueeze(a: H, dim: number): H;
  slice(a: H, dim: number, start: number, end: number, step?: number): H;
  select(a: H, dim: number, index: number): H;
  indexSelect(a: H, dim: number, index: H): H;
  gather(a: H, dim: number, index: H): H;
  scatter(a: H, dim: number, index: H, src: HS): H;
  maskedFill(a: H, mask: H, value: HS): H;
  indexCopy_(a: H, dim: number, index: H, src: H): H;
  flip(a: H, dims: number[]): H;
  roll(a: H, shifts: number[], dims: number[]): H;
  split(a: H, size: number, dim?: number): H[];
  oneHot(a: H, numClasses: number): H;
  pad(a: H, pads: number[], mode?: string, value?: number): H;
  // nn
  conv2d(x: H, w: H, b: Opt<H>, stride: number[], padding: number[], dilation: number[], groups: number): H;
  batchNorm(
    x: H,
    w: Opt<H>,
    b: Opt<H>,
    runningMean: Opt<H>,
    runningVar: Opt<H>,
    training: boolean,
    momentum: number,
    eps: number,
  ): H;
  linear(x: H, w: H, b: Opt<H>): H;
  gelu(a: H): H;
  silu(a: H): H;
  softplus(a: H): H;
  leakyRelu(a: H, slope?: number): H;
  hardtanh(a: H, min: number, max: number): H;
  elu(a: H, alpha?: number): H;
  softmax(a: H, dim: number): H;
  logSoftmax(a: H, dim: number): H;
  maxPool2d(x: H, kernel: number[], stride: number[], padding: number[], dilation: number[], ceilMode: boolean): H;
  avgPool2d(
    x: H,
    kernel: number[],
    stride: number[],
    padding: number[],
    ceilMode: boolean,
    countIncludePad: boolean,
  ): H;
  adaptiveAvgPool2d(x: H, size: number[]): H;
  dropout(x: H, p: number, training: boolean): H;
  crossEntropy(logits: H, target: H, weight: Opt<H>, reduction: string, ignoreIndex: number, labelSmoothing: number): H;
  nllLoss(logp: H, target: H, weight: Opt<H>, reduction: string, ignoreIndex: number): H;
  mseLoss(a: H, b: H, reduction: string): H;
  affineGrid(theta: H, size: number[], alignCorners: boolean): H;
  gridSample(x: H, grid: H, mode: string, padding: string, alignCorners: boolean): H;
  interpolate(x: H, size: number[], mode: string, alignCorners: boolean): H;
  // autograd
  requiresGrad(t: H): boolean;
  setRequiresGrad(t: H, on: boolean): H;
  grad(t: H): H | undefined;
  setGrad(t: H, g: H | undefined): void;
  backward(t: H, gradient?: H, retainGraph?: boolean): void;
  gradOf(
    outputs: H[],
    inputs: H[],
    gradOutputs?: H[],
    retainGraph?: boolean,
    createGraph?: boolean,
    allowUnused?: boolean,
  ): (H | undefined)[];
  isGradEnabled(): boolean;
  setGradEnabled(on: boolean): void;
  // autocast ("cpu" or "cuda" device types)
  isAutocastEnabled(deviceType: string): boolean;
  setAutocastEnabled(deviceType: string, on: boolean): void;
  getAutocastDtype(deviceType: string): string;
  setAutocastDtype(deviceType: string, dtype: string): void;
  autocastIncrementNesting(): number;
  autocastDecrementNesting(): number;
  clearAutocastCache(): void;
  cudaBf16Supported(index: number): boolean;
}

function addonPath(): string {
  // Compiled files live in dist/src/torch; the addon in build/Release at the package root.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, "build", "Release", "advpoison_torch.node");
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error(
    "advpoison: the libtorch addon is not built (no build/Release/advpoison_torch.node). " +
      "Run `npm run build:native` (Debian 12: apt-get install -y libtorch-dev libopenblas0-openmp first).",
  );
}

export const native: NativeTorch = createRequire(import.meta.url)(addonPath()) as NativeTorch;

/**
 * Intra-op threads: $ADVPOISON_THREADS, else every core. Debian's libtorch starts with one OpenMP thread, and
 * two processes that both spin on all cores slow each other down badly, so parallel test workers set 1.
 */
function configureThreads(): void {
  const fromEnv = process.env.ADVPOISON_THREADS;
  const n = fromEnv ? Number(fromEnv) : availableParallelism();
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`ADVPOISON_THREADS must be a positive integer, got '${fromEnv}'`);
  native.setNumThreads(n);
}
configureThreads();
