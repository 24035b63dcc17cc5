// The standard layers, with torch.nn's parameter names, shapes and default initialisation.
import { F, full, ones, type Tensor, zeros } from "../torch/index.js";
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
  forward(x: Tensor): Tensor {
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
    return F.dropout(x, this.p, this.training);
  }
}
