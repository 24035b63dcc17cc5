// The Tensor class: a typed, scope-aware face over one native handle. Ops return new tensors; methods
// ending in `_` change the tensor in place and return it, as in PyTorch.
import { type DType, type TypedArray, typedArrayOf } from "./dtype.js";
import { type NativeHandle, native } from "./native.js";
import { IN_PLACE_OPS, OPERAND_IN_PLACE_OPS, OPERAND_OPS, TENSOR_PAIR_OPS, type TensorOps, UNARY_OPS } from "./ops.js";
import { track, untrack } from "./scope.js";

type Operand = Tensor | number;

function h(x: Operand): NativeHandle | number {
  return typeof x === "number" ? x : x.handle;
}

function optH(x: Operand | undefined): NativeHandle | number | undefined {
  return x === undefined ? undefined : h(x);
}

/** How a 4-D tensor's elements are laid out in memory, by torch's names (channels_last: N,H,W,C order). */
export type MemoryFormat = "contiguous_format" | "channels_last" | "preserve_format";

export interface ToOptions {
  dtype?: DType;
  device?: string;
  memoryFormat?: MemoryFormat;
}

// The methods of the op tables (ops.ts: neg, exp, mul, eq, matmul, zero_, mul_, ...), installed below.
export interface Tensor extends TensorOps<Tensor> {}

// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the prototype gets exactly the interface's methods below
export class Tensor {
  /** The native handle; for src/torch and tests, not for users. */
  readonly handle: NativeHandle;
  #shape: number[] | undefined;

  /** Wraps a native handle (use the factories in `torch`, not this). */
  constructor(handle: NativeHandle) {
    this.handle = handle;
    track(this);
  }

  // ---- metadata ----
  get shape(): number[] {
    this.#shape ??= native.shape(this.handle);
    return this.#shape.slice();
  }
  get ndim(): number {
    return (this.#shape ??= native.shape(this.handle)).length;
  }
  size(dim: number): number {
    const s = (this.#shape ??= native.shape(this.handle));
    const d = dim < 0 ? s.length + dim : dim;
    const n = s[d];
    if (n === undefined) throw new RangeError(`size(${dim}): tensor has ${s.length} dimensions`);
    return n;
  }
  get numel(): number {
    return native.numel(this.handle);
  }
  get dtype(): DType {
    return native.dtype(this.handle) as DType;
  }
  get device(): string {
    return native.device(this.handle);
  }
  get isDisposed(): boolean {
    return this.handle.isDisposed;
  }

  /** Frees the native memory now; using the tensor afterwards throws. */
  dispose(): void {
    if (!this.handle.isDisposed) {
      this.handle.dispose();
      untrack(this);
    }
  }

  // ---- data out ----
  /** The elements, row-major, in the typed array of the dtype (float16/bfloat16 as raw Uint16Array words). */
  toTypedArray(): TypedArray {
    return typedArrayOf(this.dtype, native.toBytes(this.handle));
  }
  /** The raw little-endian bytes of the elements, row-major. */
  toBytes(): Uint8Array {
    return new Uint8Array(native.toBytes(this.handle));
  }
  /** The elements as plain numbers (int64 beyond 2^53 loses precision; half floats are widened first). */
  toArray(): number[] {
    const dt = this.dtype;
    if (dt === "float16" || dt === "bfloat16") return this.to({ dtype: "float32" }).#consume((t) => t.toArray());
    const a = this.toTypedArray();
    return a instanceof BigInt64Array ? Array.from(a, Number) : Array.from(a as ArrayLike<number>);
  }
  /** The value of a one-element tensor. */
  item(): number {
    return Number(native.item(this.handle));
  }
  toString(): string {
    return `Tensor(shape=[${this.shape.join(", ")}], dtype=${this.dtype}, device=${this.device})`;
  }

  #consume<T>(fn: (t: Tensor) => T): T {
    try {
      return fn(this);
    } finally {
      this.dispose();
    }
  }

  // ---- conversion ----
  to(target: DType | ToOptions): Tensor {
    const o: ToOptions = typeof target === "string" ? { dtype: target } : target;
    return new Tensor(native.to(this.handle, o.dtype, o.device, o.memoryFormat));
  }
  float(): Tensor {
    return this.to({ dtype: "float32" });
  }
  long(): Tensor {
    return this.to({ dtype: "int64" });
  }
  clone(): Tensor {
    return new Tensor(native.clone(this.handle));
  }
  /** This tensor when already laid out in `memoryFormat` (default: row-major), else a copy that is. */
  contiguous(memoryFormat?: MemoryFormat): Tensor {
    return new Tensor(native.contiguous(this.handle, memoryFormat));
  }
  isContiguous(memoryFormat?: MemoryFormat): boolean {
    return native.isContiguous(this.handle, memoryFormat);
  }
  /** A tensor sharing this one's data but outside the autograd graph. */
  detach(): Tensor {
    return new Tensor(native.detach(this.handle));
  }

  // ---- autograd ----
  get requiresGrad(): boolean {
    return native.requiresGrad(this.handle);
  }
  requiresGrad_(on = true): this {
    native.setRequiresGrad(this.handle, on);
    return this;
  }
  /** The accumulated gradient (a new handle on it each call), or undefined before any backward pass. */
  get grad(): Tensor | undefined {
    const g = native.grad(this.handle);
    return g === undefined ? undefined : new Tensor(g);
  }
  set grad(g: Tensor | undefined) {
    native.setGrad(this.handle, g?.handle);
  }
  backward(gradient?: Tensor, options: { retainGraph?: boolean } = {}): void {
    native.backward(this.handle, gradient?.handle, options.retainGraph);
  }

  // ---- element-wise ----
  add(o: Operand, alpha?: number): Tensor {
    return new Tensor(native.add(this.handle, h(o), alpha));
  }
  sub(o: Operand, alpha?: number): Tensor {
    return new Tensor(native.sub(this.handle, h(o), alpha));
  }
  softmax(dim: number): Tensor {
    return new Tensor(native.softmax(this.handle, dim));
  }
  logSoftmax(dim: number): Tensor {
    return new Tensor(native.logSoftmax(this.handle, dim));
  }
  /** Bounds may be numbers or tensors (broadcast); either may be omitted. */
  clamp(min?: Operand, max?: Operand): Tensor {
    return new Tensor(native.clamp(this.handle, optH(min), optH(max)));
  }

  // ---- comparisons ----
  /** Same shape and elements. */
  equal(o: Tensor): boolean {
    return native.equal(this.handle, o.handle);
  }
  allclose(o: Tensor, rtol = 1e-5, atol = 1e-8): boolean {
    return native.allclose(this.handle, o.handle, rtol, atol);
  }

  // ---- reductions (no dims: over everything) ----
  sum(dims?: number | number[], keepdim = false): Tensor {
    return new Tensor(native.sum(this.handle, dimList(dims), keepdim));
  }
  mean(dims?: number | number[], keepdim = false): Tensor {
    return new Tensor(native.mean(this.handle, dimList(dims), keepdim));
  }
  amax(dims?: number | number[], keepdim = false): Tensor {
    return new Tensor(native.amax(this.handle, dimList(dims), keepdim));
  }
  amin(dims?: number | number[], keepdim = false): Tensor {
    return new Tensor(native.amin(this.handle, dimList(dims), keepdim));
  }
  var(dims?: number | number[], keepdim = false, unbiased = true): Tensor {
    return new Tensor(native.var(this.handle, dimList(dims), keepdim, unbiased));
  }
  std(dims?: number | number[], keepdim = false, unbiased = true): Tensor {
    return new Tensor(native.std(this.handle, dimList(dims), keepdim, unbiased));
  }
  /** The vector p-norm (p = Infinity for the largest absolute value). */
  norm(p = 2, dims?: number | number[], keepdim = false): Tensor {
    return new Tensor(native.norm(this.handle, p, dimList(dims), keepdim));
  }
  argmax(dim?: number, keepdim = false): Tensor {
    return new Tensor(native.argmax(this.handle, dim, keepdim));
  }
  argmin(dim?: number, keepdim = false): Tensor {
    return new Tensor(native.argmin(this.handle, dim, keepdim));
  }
  /** [values, indices] of the max along `dim`. */
  maxDim(dim: number, keepdim = false): [Tensor, Tensor] {
    const [v, i] = native.maxDim(this.handle, dim, keepdim);
    return [new Tensor(v), new Tensor(i)];
  }
  minDim(dim: number, keepdim = false): [Tensor, Tensor] {
    const [v, i] = native.minDim(this.handle, dim, keepdim);
    return [new Tensor(v), new Tensor(i)];
  }
  /** [values, indices] of the k largest (or smallest) along `dim`. */
  topk(k: number, dim = -1, largest = true, sorted = true): [Tensor, Tensor] {
    const [v, i] = native.topk(this.handle, k, dim, largest, sorted);
    return [new Tensor(v), new Tensor(i)];
  }
  any(): Tensor {
    return new Tensor(native.any(this.handle));
  }
  all(): Tensor {
    return new Tensor(native.all(this.handle));
  }

  // ---- in place ----
  add_(o: Operand, alpha?: number): this {
    native.add_(this.handle, h(o), alpha);
    return this;
  }
  sub_(o: Operand, alpha = 1): this {
    native.add_(this.handle, h(o), -alpha);
    return this;
  }
  addcmul_(a: Tensor, b: Tensor, value = 1): this {
    native.addcmul_(this.handle, a.handle, b.handle, value);
    return this;
  }
  addcdiv_(a: Tensor, b: Tensor, value = 1): this {
    native.addcdiv_(this.handle, a.handle, b.handle, value);
    return this;
  }
  clamp_(min?: Operand, max?: Operand): this {
    native.clamp_(this.handle, optH(min), optH(max));
    return this;
  }
  copy_(src: Tensor): this {
    native.copy_(this.handle, src.handle);
    return this;
  }
  fill_(value: number | boolean): this {
    native.fill_(this.handle, value);
    return this;
  }
  uniform_(low = 0, high = 1): this {
    native.uniform_(this.handle, low, high);
    return this;
  }
  normal_(mean = 0, std = 1): this {
    native.normal_(this.handle, mean, std);
    return this;
  }
  bernoulli_(p: number): this {
    native.bernoulli_(this.handle, p);
    return this;
  }
  /** this[index] = src along `dim`, in place. */
  indexCopy_(dim: number, index: Tensor, src: Tensor): this {
    native.indexCopy_(this.handle, dim, index.handle, src.handle);
    return this;
  }

  // ---- shape and indexing ----
  reshape(...shape: number[]): Tensor {
    return new Tensor(native.reshape(this.handle, shape));
  }
  view(...shape: number[]): Tensor {
    return new Tensor(native.view(this.handle, shape));
  }
  permute(...dims: number[]): Tensor {
    return new Tensor(native.permute(this.handle, dims));
  }
  transpose(d0: number, d1: number): Tensor {
    return new Tensor(native.transpose(this.handle, d0, d1));
  }
  expand(...shape: number[]): Tensor {
    return new Tensor(native.expand(this.handle, shape));
  }
  repeat(...reps: number[]): Tensor {
    return new Tensor(native.repeat(this.handle, reps));
  }
  flatten(start = 0, end = -1): Tensor {
    return new Tensor(native.flatten(this.handle, start, end));
  }
  unsqueeze(dim: number): Tensor {
    return new Tensor(native.unsqueeze(this.handle, dim));
  }
  /** this[..., start:end:step] along `dim` (a view; end may exceed the size, negatives count from the end). */
  slice(dim: number, start: number, end: number, step = 1): Tensor {
    return new Tensor(native.slice(this.handle, dim, start, end, step));
  }
  /** this[..., index] along `dim`, dropping that dim (a view). */
  select(dim: number, index: number): Tensor {
    return new Tensor(native.select(this.handle, dim, index));
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return new Tensor(native.indexSelect(this.handle, dim, index.handle));
  }
  gather(dim: number, index: Tensor): Tensor {
    return new Tensor(native.gather(this.handle, dim, index.handle));
  }
  scatter(dim: number, index: Tensor, src: Operand): Tensor {
    return new Tensor(native.scatter(this.handle, dim, index.handle, h(src)));
  }
  maskedFill(mask: Tensor, value: Operand): Tensor {
    return new Tensor(native.maskedFill(this.handle, mask.handle, h(value)));
  }
  flip(...dims: number[]): Tensor {
    return new Tensor(native.flip(this.handle, dims));
  }
  roll(shifts: number[], dims: number[]): Tensor {
    return new Tensor(native.roll(this.handle, shifts, dims));
  }
  split(size: number, dim = 0): Tensor[] {
    return native.split(this.handle, size, dim).map((x) => new Tensor(x));
  }
}

function dimList(dims: number | number[] | undefined): number[] | undefined {
  return typeof dims === "number" ? [dims] : dims;
}

/** Puts a table's method on every Tensor (the interface above types it). */
function define(name: string, method: (this: Tensor, ...args: never[]) => unknown): void {
  Object.defineProperty(Tensor.prototype, name, { value: method, writable: true });
}
for (const op of UNARY_OPS) {
  define(op, function (this: Tensor) {
    return new Tensor(native[op](this.handle));
  });
}
for (const op of OPERAND_OPS) {
  define(op, function (this: Tensor, o: Operand) {
    return new Tensor(native[op](this.handle, h(o)));
  });
}
for (const op of TENSOR_PAIR_OPS) {
  define(op, function (this: Tensor, o: Tensor) {
    return new Tensor(native[op](this.handle, o.handle));
  });
}
for (const op of IN_PLACE_OPS) {
  define(op, function (this: Tensor) {
    native[op](this.handle);
    return this;
  });
}
for (const op of OPERAND_IN_PLACE_OPS) {
  define(op, function (this: Tensor, o: Operand) {
    native[op](this.handle, h(o));
    return this;
  });
}
