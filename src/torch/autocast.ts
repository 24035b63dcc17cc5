// torch.autocast: a region in which libtorch runs matmul-like ops (conv, linear, matmul) in a lower precision and
// keeps precision-sensitive ones in fp32, casting inputs as each op needs. Nesting-safe as PyTorch's: each region
// restores the enabled flag and dtype it found, and the outermost one frees the cached weight casts.
import type { DType } from "./dtype.js";
import { native } from "./native.js";

export type AutocastDtype = "bfloat16" | "float16";

/** "cpu" or "cuda" for a device name such as "cpu", "cuda" or "cuda:1". */
export function autocastDeviceType(device: string): "cpu" | "cuda" {
  const type = device.split(":")[0];
  if (type === "cpu" || type === "cuda") return type;
  throw new RangeError(`autocast: device must be cpu or cuda[:N], got '${device}'`);
}

/** Whether autocast is on for the device's type right now. */
export function isAutocastEnabled(device: string): boolean {
  return native.isAutocastEnabled(autocastDeviceType(device));
}

/** The dtype autocast casts to on the device's type (libtorch's default: bfloat16 on the CPU, float16 on CUDA). */
export function autocastDtype(device: string): DType {
  return native.getAutocastDtype(autocastDeviceType(device)) as DType;
}

/**
 * Runs `fn` under autocast to `dtype` on `device`'s type, as `with torch.autocast(device_type, dtype, enabled)`;
 * `enabled: false` runs a full-precision region inside an autocast one. The CPU casts to bfloat16 only, CUDA to
 * bfloat16 or float16. `fn` must be synchronous (autocast is thread-local state, as grad mode is).
 */
export function autocast<T>(device: string, dtype: AutocastDtype, fn: () => T, options: { enabled?: boolean } = {}): T {
  const type = autocastDeviceType(device);
  if (type === "cpu" && dtype !== "bfloat16")
    throw new RangeError(`autocast: the CPU casts to bfloat16 only, not ${dtype}`);
  const enabled = options.enabled ?? true;
  const wasEnabled = native.isAutocastEnabled(type);
  const wasDtype = native.getAutocastDtype(type);
  native.setAutocastDtype(type, dtype);
  native.setAutocastEnabled(type, enabled);
  native.autocastIncrementNesting();
  try {
    const r = fn();
    if (r instanceof Promise) throw new Error("autocast: fn returned a Promise; autocast regions are synchronous");
    return r;
  } finally {
    if (native.autocastDecrementNesting() === 0) native.clearAutocastCache();
    native.setAutocastEnabled(type, wasEnabled);
    native.setAutocastDtype(type, wasDtype);
  }
}
