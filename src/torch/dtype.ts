// Element types, and the JS typed arrays that hold each one's raw data.

export type DType =
  | "float32"
  | "float64"
  | "float16"
  | "bfloat16"
  | "int64"
  | "int32"
  | "int16"
  | "int8"
  | "uint8"
  | "bool";

export type TypedArray =
  | Float32Array
  | Float64Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array
  | Uint16Array;

/** Bytes per element of each dtype. */
export const ITEM_SIZE: Record<DType, number> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

/** The typed array a dtype's data comes back in (half floats come back as their raw 16-bit words). */
export function typedArrayOf(dtype: DType, buffer: ArrayBuffer): TypedArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(buffer);
    case "float64":
      return new Float64Array(buffer);
    case "int64":
      return new BigInt64Array(buffer);
    case "int32":
      return new Int32Array(buffer);
    case "int16":
      return new Int16Array(buffer);
    case "int8":
      return new Int8Array(buffer);
    case "uint8":
    case "bool":
      return new Uint8Array(buffer);
    case "float16":
    case "bfloat16":
      return new Uint16Array(buffer);
  }
}

/** The dtype a typed array holds when none is named (Uint8Array is uint8, Uint16Array needs a name). */
export function dtypeOfArray(a: TypedArray): DType {
  if (a instanceof Float32Array) return "float32";
  if (a instanceof Float64Array) return "float64";
  if (a instanceof BigInt64Array) return "int64";
  if (a instanceof Int32Array) return "int32";
  if (a instanceof Int16Array) return "int16";
  if (a instanceof Int8Array) return "int8";
  if (a instanceof Uint8Array) return "uint8";
  throw new TypeError("a Uint16Array holds float16 or bfloat16 data: name the dtype");
}

export function isFloating(dtype: DType): boolean {
  return dtype === "float32" || dtype === "float64" || dtype === "float16" || dtype === "bfloat16";
}
