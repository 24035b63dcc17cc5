// Factories: tensors from JS data, constants, ranges and seeded random draws.
import { type DType, dtypeOfArray, ITEM_SIZE, type TypedArray } from "./dtype.js";
import { native } from "./native.js";
import { Tensor } from "./tensor.js";

export interface Options {
  dtype?: DType;
  device?: string;
}

/**
 * A tensor holding a copy of `data`. A typed array keeps its own dtype unless one is named (raw data of that
 * dtype is expected then, e.g. Uint8Array for bool); a number array becomes float32 unless a dtype is named.
 */
export function tensor(data: TypedArray | readonly number[], shape?: readonly number[], options: Options = {}): Tensor {
  const dims = shape ? [...shape] : [data.length];
  if (Array.isArray(data)) return fromNumbers(data, dims, options);
  const typed = data as TypedArray;
  const dtype = options.dtype ?? dtypeOfArray(typed);
  if (ITEM_SIZE[dtype] !== typed.BYTES_PER_ELEMENT) {
    throw new TypeError(
      `tensor(): a ${typed.constructor.name} cannot hold ${dtype} data; convert it or name a matching dtype`,
    );
  }
  const bytes = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
  return new Tensor(native.fromBytes(bytes, dims, dtype, options.device));
}

function fromNumbers(data: readonly number[], shape: number[], options: Options): Tensor {
  const dtype = options.dtype ?? "float32";
  const as64 = new Float64Array(data);
  const t64 = new Tensor(native.fromBytes(new Uint8Array(as64.buffer), shape, "float64"));
  try {
    return t64.to({ dtype, device: options.device });
  } finally {
    t64.dispose();
  }
}

/** A tensor over raw little-endian element bytes (what safetensors files hold). */
export function fromBytes(bytes: Uint8Array, shape: readonly number[], dtype: DType, device?: string): Tensor {
  return new Tensor(native.fromBytes(bytes, [...shape], dtype, device));
}

export function scalar(value: number, options: Options = {}): Tensor {
  return full([], value, options);
}
export function zeros(shape: readonly number[], options: Options = {}): Tensor {
  return new Tensor(native.zeros([...shape], options.dtype, options.device));
}
export function ones(shape: readonly number[], options: Options = {}): Tensor {
  return new Tensor(native.ones([...shape], options.dtype, options.device));
}
export function empty(shape: readonly number[], options: Options = {}): Tensor {
  return new Tensor(native.empty([...shape], options.dtype, options.device));
}
export function full(shape: readonly number[], value: number | boolean, options: Options = {}): Tensor {
  return new Tensor(native.full([...shape], value, options.dtype, options.device));
}
export function zerosLike(t: Tensor): Tensor {
  return zeros(t.shape, { dtype: t.dtype, device: t.device });
}
export function onesLike(t: Tensor): Tensor {
  return ones(t.shape, { dtype: t.dtype, device: t.device });
}
/**
 * [start, end) in steps of `step`. Unless a dtype is named: int64 when all three are integers, else float32
 * (as PyTorch infers it; an int64 range would truncate a fractional step, even to zero).
 */
export function arange(start: number, end?: number, step = 1, options: Options = {}): Tensor {
  const [lo, hi] = end === undefined ? [0, start] : [start, end];
  const integral = Number.isInteger(lo) && Number.isInteger(hi) && Number.isInteger(step);
  return new Tensor(native.arange(lo, hi, step, options.dtype ?? (integral ? "int64" : "float32"), options.device));
}

// ---- random (seeded by manualSeed) ----
export function rand(shape: readonly number[], options: Options = {}): Tensor {
  return new Tensor(native.rand([...shape], options.dtype, options.device));
}
export function randn(shape: readonly number[], options: Options = {}): Tensor {
  return new Tensor(native.randn([...shape], options.dtype, options.device));
}
/** Integers in [low, high), int64. */
export function randint(low: number, high: number, shape: readonly number[], device?: string): Tensor {
  return new Tensor(native.randint(low, high, [...shape], device));
}
/** A random permutation of 0..n-1, int64. */
export function randperm(n: number, device?: string): Tensor {
  return new Tensor(native.randperm(n, device));
}
