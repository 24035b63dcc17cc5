// The standard layers, with torch.nn's parameter names, shapes and default initialisation.
import { F, full, keep, noGrad, ones, scope, type Tensor, zeros } from "../torch/index.js";
import { defaultBound, uniform } from "./init.js";
import { Module } from "./module.js";

type Pair = number | [number, number];
const area = (k: Pair): number => (typeof k === "number" ? k * k : k[0] * k[1]);

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

export class Conv2d extends Module {
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: Pair,
    readonly options: Conv2dOptions = {},
  ) {
    super();
    const groups = options.groups ?? 1;
    if (inChannels % groups || outChannels % groups) {
      throw new RangeError(`Conv2d: channels ${inChannels}->${outChannels} not divisible by groups=${groups}`);
    }
    const k = typeof kernelSize === "number" ? [kernelSize, kernelSize] : kernelSize;
    const bound = defaultBound((inChannels / groups) * area(kernelSize));
    this.param("weight", uniform([outChannels, inChannels / groups, ...k], bound));
    this.param("bias", options.bias === false ? undefined : uniform([outChannels], bound));
  }
  get weight(): Tensor {
    return this.getParam("weight")!;
  }
  get bias(): Tensor | undefined {
    return this.getParam("bias");
  }
  forward(x: Tensor): Tensor {
    return F.conv2d(x, this.weight, this.bias, this.options);
  }
  /** Replaces weight and bias (a batch norm folded into them); the old tensors are freed. */
  replaceWeights(weight: Tensor, bias: Tensor): void {
    const [oldWeight, oldBias] = [this.weight, this.bias];
    const trainable = oldWeight.requiresGrad;
    this.param("weight", weight)?.requiresGrad_(trainable);
    this.param("bias", bias)?.requiresGrad_(trainable);
    oldWeight.dispose();
    oldBias?.dispose();
  }
}

export class Linear extends Module {
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    bias = true,
  ) {
    super();
    const bound = defaultBound(inFeatures);
    this.param("weight", uniform([outFeatures, inFeatures], bound));
    this.param("bias", bias ? uniform([outFeatures], bound) : undefined);
  }
  get weight(): Tensor {
    return this.getParam("weight")!;
  }
  get bias(): Tensor | undefined {
    return this.getParam("bias");
  }
  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }
}

export interface BatchNormOptions {
  eps?: number;
  momentum?: number;
  affine?: boolean;
  trackRunningStats?: boolean;
}

export class BatchNorm2d extends Module {
  readonly eps: number;
  readonly momentum: number;
  readonly tracking: boolean;
  #folded = false;

  constructor(
    readonly numFeatures: number,
    options: BatchNormOptions = {},
  ) {
    super();
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum ?? 0.1;
    this.tracking = options.trackRunningStats ?? true;
    const affine = options.affine ?? true;
    this.param("weight", affine ? ones([numFeatures]) : undefined);
    this.param("bias", affine ? zeros([numFeatures]) : undefined);
    if (this.tracking) {
      this.buffer("running_mean", zeros([numFeatures]));
      this.buffer("running_var", ones([numFeatures]));
      this.buffer("num_batches_tracked", full([], 0, { dtype: "int64" }));
    }
  }
  /**
   * Checkpoints from before PyTorch 0.4.1 have no `num_batches_tracked` (torchvision's ImageNet weights among
   * them); PyTorch loads them with the counter at 0, and so does loadStateDict.
   */
  protected override defaultsOnLoad(): ReadonlyMap<string, number> {
    return this.tracking && !this.#folded ? new Map([["num_batches_tracked", 0]]) : new Map();
  }

  /** Whether foldInto() moved this batch norm into its conv, leaving the identity. */
  get folded(): boolean {
    return this.#folded;
  }

  /**
   * Folds this batch norm's eval-mode affine map into `conv`, the conv whose output it normalises (as PyTorch's
   * fuse_conv_bn_eval): w' = w·γ/√(var+ε) per output channel, b' = (b − mean)·γ/√(var+ε) + β. This module then
   * holds no tensors and passes its input through. Only valid while both stay in eval mode.
   */
  foldInto(conv: Conv2d): void {
    if (this.#folded) throw new Error("BatchNorm2d.foldInto: already folded");
    if (!this.tracking) throw new Error("BatchNorm2d.foldInto: no running statistics to fold (trackRunningStats off)");
    if (conv.outChannels !== this.numFeatures) {
      throw new Error(
        `BatchNorm2d.foldInto: conv has ${conv.outChannels} output channels, batch norm ${this.numFeatures}`,
      );
    }
    noGrad(() =>
      scope(() => {
        const gamma = this.getParam("weight") ?? ones([this.numFeatures]);
        const scale = this.getBuffer("running_var").add(this.eps).rsqrt().mul(gamma);
        const weight = conv.weight.mul(scale.view(-1, 1, 1, 1));
        const bias = (conv.bias ?? zeros([this.numFeatures])).sub(this.getBuffer("running_mean")).mul(scale);
        const beta = this.getParam("bias");
        conv.replaceWeights(keep(weight), keep(beta ? bias.add(beta) : bias));
      }),
    );
    this.releaseOwnState();
    this.#folded = true;
  }

  forward(x: Tensor): Tensor {
    if (this.#folded) return x;
    const useBatchStats = this.training || !this.tracking;
    if (this.training && this.tracking) this.getBuffer("num_batches_tracked").add_(1);
    return F.batchNorm(x, {
      weight: this.getParam("weight"),
      bias: this.getParam("bias"),
      runningMean: this.tracking ? this.getBuffer("running_mean") : undefined,
      runningVar: this.tracking ? this.getBuffer("running_var") : undefined,
      training: useBatchStats,
      momentum: this.momentum,
      eps: this.eps,
    });
  }
}

/** Runs its children in order; children are named "0", "1", ... as in torch.nn.Sequential. */
export class Sequential extends Module {
  readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    this.layers = layers.map((m, i) => this.child(String(i), m));
  }
  forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this.layers) y = m.forward(y);
    return y;
  }
}

/**
 * torch.nn.Sequential(OrderedDict(...)): runs its children in order under the given names, so that state-dict
 * names read `conv0.weight` rather than `0.weight`.
 */
export class NamedSequential extends Module {
  readonly layers: Module[];
  constructor(entries: readonly (readonly [string, Module])[]) {
    super();
    // A repeated name would replace the earlier child in the state dict while both still ran in forward().
    const names = new Set<string>();
    for (const [name] of entries) {
      if (names.has(name)) throw new Error(`NamedSequential: duplicate name '${name}'`);
      names.add(name);
    }
    this.layers = entries.map(([name, m]) => this.child(name, m));
  }
  forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this.layers) y = m.forward(y);
    return y;
  }
}

/** A module with no parameters that applies one function. */
class Stateless extends Module {
  constructor(private readonly fn: (x: Tensor) => Tensor) {
    super();
  }
  forward(x: Tensor): Tensor {
    return this.fn(x);
  }
}

export class ReLU extends Stateless {
  constructor() {
    super(F.relu);
  }
}
export class ReLU6 extends Stateless {
  constructor() {
    super(F.relu6);
  }
}
export class Identity extends Stateless {
  constructor() {
    super((x) => x);
  }
}
export class Flatten extends Stateless {
  constructor(start = 1, end = -1) {
    super((x) => x.flatten(start, end));
  }
}
export class MaxPool2d extends Stateless {
  constructor(kernel: Pair, options: F.PoolOptions = {}) {
    super((x) => F.maxPool2d(x, kernel, options));
  }
}
export class AvgPool2d extends Stateless {
  constructor(kernel: Pair, options: F.PoolOptions = {}) {
    super((x) => F.avgPool2d(x, kernel, options));
  }
}
export class AdaptiveAvgPool2d extends Stateless {
  constructor(size: Pair) {
    super((x) => F.adaptiveAvgPool2d(x, size));
  }
}
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
  }
  forward(x: Tensor): Tensor {
    // In eval mode dropout is the identity: no op at all (what at::dropout would return anyway).
    return this.training ? F.dropout(x, this.p, true) : x;
  }
}
