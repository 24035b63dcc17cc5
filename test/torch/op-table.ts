// The facade call behind each op name of test/fixtures/op-grads.json (scripts/fixtures/op_grads.py holds the
// PyTorch side of the same table). Arguments arrive as JSON, so they are read through checked accessors: a
// typo in either table fails loudly instead of silently running the op with a default.
import { F, type Tensor } from "../../src/torch/index.js";

export type ArgValue = number | boolean | string | number[];

export class CaseArgs {
  constructor(
    private readonly raw: Record<string, ArgValue>,
    private readonly caseName: string,
  ) {}

  has(key: string): boolean {
    return key in this.raw;
  }
  num(key: string): number {
    return this.typed(key, (v): v is number => typeof v === "number", "a number");
  }
  optNum(key: string): number | undefined {
    return this.has(key) ? this.num(key) : undefined;
  }
  bool(key: string): boolean {
    return this.typed(key, (v): v is boolean => typeof v === "boolean", "a boolean");
  }
  optBool(key: string, fallback: boolean): boolean {
    return this.has(key) ? this.bool(key) : fallback;
  }
  ints(key: string): number[] {
    return this.typed(key, (v): v is number[] => Array.isArray(v) && v.every(Number.isInteger), "an integer array");
  }
  optInts(key: string): number[] | undefined {
    return this.has(key) ? this.ints(key) : undefined;
  }
  pair(key: string): [number, number] {
    const v = this.ints(key);
    if (v.length !== 2) throw new Error(`case '${this.caseName}': argument '${key}' must hold 2 integers`);
    return [v[0]!, v[1]!];
  }
  oneOf<T extends string>(key: string, allowed: readonly T[]): T {
    return this.typed(
      key,
      (v): v is T => typeof v === "string" && (allowed as readonly string[]).includes(v),
      allowed.join("|"),
    );
  }
  /** A norm order: a number, or "inf" (JSON cannot hold Infinity). */
  order(key: string): number {
    return this.raw[key] === "inf" ? Infinity : this.num(key);
  }

  private typed<T extends ArgValue>(key: string, ok: (v: ArgValue) => v is T, expected: string): T {
    const v = this.raw[key];
    if (v === undefined || !ok(v)) throw new Error(`case '${this.caseName}': argument '${key}' must be ${expected}`);
    return v;
  }
}

/** Named tensors of a case; a missing one is an error in the case, not a reason to fall back silently. */
export class Named {
  constructor(
    private readonly tensors: Record<string, Tensor>,
    private readonly caseName: string,
  ) {}
  get(name: string): Tensor {
    const t = this.tensors[name];
    if (!t) throw new Error(`case '${this.caseName}': no tensor '${name}'`);
    return t;
  }
  opt(name: string): Tensor | undefined {
    return this.tensors[name];
  }
  /** All of them, in the order the fixture lists them (for cat and stack). */
  all(): Tensor[] {
    return Object.values(this.tensors);
  }
}

/** Differentiable inputs, constants, arguments -> output. */
export type OpFn = (t: Named, c: Named, a: CaseArgs) => Tensor;

const REDUCTIONS = ["mean", "sum", "none"] as const;

/** `t.name` when the case made it a tensor, else the number in `a[key]`. */
const tensorOr = (t: Named, a: CaseArgs, name: string, key: string): Tensor | number => t.opt(name) ?? a.num(key);

export const OPS: Record<string, OpFn> = {
  add: (t, _c, a) => t.get("a").add(tensorOr(t, a, "b", "other"), a.optNum("alpha")),
  sub: (t, _c, a) => t.get("a").sub(tensorOr(t, a, "b", "other"), a.optNum("alpha")),
  mul: (t, _c, a) => t.get("a").mul(tensorOr(t, a, "b", "other")),
  div: (t, _c, a) => t.get("a").div(tensorOr(t, a, "b", "other")),
  pow: (t, _c, a) => t.get("a").pow(tensorOr(t, a, "b", "exponent")),
  neg: (t) => t.get("x").neg(),
  abs: (t) => t.get("x").abs(),
  sqrt: (t) => t.get("x").sqrt(),
  rsqrt: (t) => t.get("x").rsqrt(),
  exp: (t) => t.get("x").exp(),
  log: (t) => t.get("x").log(),
  reciprocal: (t) => t.get("x").reciprocal(),
  relu: (t) => F.relu(t.get("x")),
  sigmoid: (t) => F.sigmoid(t.get("x")),
  tanh: (t) => F.tanh(t.get("x")),
  gelu: (t) => F.gelu(t.get("x")),
  silu: (t) => F.silu(t.get("x")),
  softplus: (t) => F.softplus(t.get("x")),
  leakyRelu: (t, _c, a) => F.leakyRelu(t.get("x"), a.num("slope")),
  hardtanh: (t, _c, a) => F.hardtanh(t.get("x"), a.num("min"), a.num("max")),
  relu6: (t) => F.relu6(t.get("x")),
  elu: (t, _c, a) => F.elu(t.get("x"), a.num("alpha")),
  softmax: (t, _c, a) => F.softmax(t.get("x"), a.num("dim")),
  logSoftmax: (t, _c, a) => F.logSoftmax(t.get("x"), a.num("dim")),
  clamp: (t, _c, a) => t.get("x").clamp(t.opt("lo") ?? a.optNum("min"), t.opt("hi") ?? a.optNum("max")),
  where: (t, c, a) => F.where(c.get("cond"), t.get("a"), tensorOr(t, a, "b", "other")),
  matmul: (t) => t.get("a").matmul(t.get("b")),
  maximum: (t) => t.get("a").maximum(t.get("b")),
  minimum: (t) => t.get("a").minimum(t.get("b")),
  sum: (t, _c, a) => t.get("x").sum(a.optInts("dims"), a.optBool("keepdim", false)),
  mean: (t, _c, a) => t.get("x").mean(a.optInts("dims"), a.optBool("keepdim", false)),
  amax: (t, _c, a) => t.get("x").amax(a.optInts("dims"), a.optBool("keepdim", false)),
  amin: (t, _c, a) => t.get("x").amin(a.optInts("dims"), a.optBool("keepdim", false)),
  var: (t, _c, a) => t.get("x").var(a.optInts("dims"), a.optBool("keepdim", false), a.optBool("unbiased", true)),
  std: (t, _c, a) => t.get("x").std(a.optInts("dims"), a.optBool("keepdim", false), a.optBool("unbiased", true)),
  norm: (t, _c, a) => t.get("x").norm(a.order("p"), a.optInts("dims"), a.optBool("keepdim", false)),
  conv2d: (t, _c, a) =>
    F.conv2d(t.get("x"), t.get("w"), t.opt("b"), {
      stride: a.pair("stride"),
      padding: a.pair("padding"),
      dilation: a.pair("dilation"),
      groups: a.num("groups"),
    }),
  batchNorm: (t, c, a) =>
    F.batchNorm(t.get("x"), {
      weight: t.opt("weight"),
      bias: t.opt("bias"),
      runningMean: c.opt("runningMean"),
      runningVar: c.opt("runningVar"),
      training: a.bool("training"),
      momentum: a.num("momentum"),
      eps: a.num("eps"),
    }),
  linear: (t) => F.linear(t.get("x"), t.get("w"), t.opt("b")),
  maxPool2d: (t, _c, a) =>
    F.maxPool2d(t.get("x"), a.pair("kernel"), {
      stride: a.pair("stride"),
      padding: a.pair("padding"),
      dilation: a.pair("dilation"),
      ceilMode: a.bool("ceilMode"),
    }),
  avgPool2d: (t, _c, a) =>
    F.avgPool2d(t.get("x"), a.pair("kernel"), {
      stride: a.pair("stride"),
      padding: a.pair("padding"),
      ceilMode: a.bool("ceilMode"),
      countIncludePad: a.bool("countIncludePad"),
    }),
  adaptiveAvgPool2d: (t, _c, a) => F.adaptiveAvgPool2d(t.get("x"), a.pair("size")),
  crossEntropy: (t, c, a) =>
    F.crossEntropy(t.get("logits"), t.opt("target") ?? c.get("target"), {
      weight: c.opt("weight"),
      reduction: a.has("reduction") ? a.oneOf("reduction", REDUCTIONS) : "mean",
      ignoreIndex: a.optNum("ignoreIndex") ?? -100,
      labelSmoothing: a.optNum("labelSmoothing") ?? 0,
    }),
  nllLoss: (t, c, a) =>
    F.nllLoss(t.get("logp"), c.get("target"), {
      weight: c.opt("weight"),
      reduction: a.has("reduction") ? a.oneOf("reduction", REDUCTIONS) : "mean",
      ignoreIndex: a.optNum("ignoreIndex") ?? -100,
    }),
  mseLoss: (t, _c, a) => F.mseLoss(t.get("a"), t.get("b"), a.oneOf("reduction", REDUCTIONS)),
  cat: (t, _c, a) => F.cat(t.all(), a.num("dim")),
  stack: (t, _c, a) => F.stack(t.all(), a.num("dim")),
  reshape: (t, _c, a) => t.get("x").reshape(...a.ints("shape")),
  permute: (t, _c, a) => t.get("x").permute(...a.ints("dims")),
  transpose: (t, _c, a) => t.get("x").transpose(a.num("dim0"), a.num("dim1")),
  slice: (t, _c, a) => t.get("x").slice(a.num("dim"), a.num("start"), a.num("end"), a.num("step")),
  select: (t, _c, a) => t.get("x").select(a.num("dim"), a.num("index")),
  indexSelect: (t, c, a) => t.get("x").indexSelect(a.num("dim"), c.get("index")),
  gather: (t, c, a) => t.get("x").gather(a.num("dim"), c.get("index")),
  scatter: (t, c, a) => t.get("x").scatter(a.num("dim"), c.get("index"), tensorOr(t, a, "src", "value")),
  maskedFill: (t, c, a) => t.get("x").maskedFill(c.get("mask"), tensorOr(t, a, "value", "value")),
  pad: (t, _c, a) =>
    F.pad(
      t.get("x"),
      a.ints("pads"),
      a.oneOf("mode", ["constant", "reflect", "replicate"] as const),
      a.optNum("value") ?? 0,
    ),
  flip: (t, _c, a) => t.get("x").flip(...a.ints("dims")),
  roll: (t, _c, a) => t.get("x").roll(a.ints("shifts"), a.ints("dims")),
  expand: (t, _c, a) => t.get("x").expand(...a.ints("shape")),
  repeat: (t, _c, a) => t.get("x").repeat(...a.ints("reps")),
  affineGrid: (t, _c, a) => F.affineGrid(t.get("theta"), a.ints("size"), a.bool("alignCorners")),
  gridSample: (t, c, a) =>
    F.gridSample(t.get("x"), t.opt("grid") ?? c.get("grid"), {
      mode: a.oneOf("mode", ["bilinear", "nearest"] as const),
      padding: a.oneOf("padding", ["zeros", "border"] as const),
      alignCorners: a.bool("alignCorners"),
    }),
  interpolate: (t, _c, a) =>
    F.interpolate(
      t.get("x"),
      a.pair("size"),
      a.oneOf("mode", ["bilinear", "nearest"] as const),
      a.bool("alignCorners"),
    ),
  dropout: (t, _c, a) => F.dropout(t.get("x"), a.num("p"), a.bool("training")),
};
