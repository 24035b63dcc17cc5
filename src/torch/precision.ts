// Which precision a run computes in: fp32, or bf16 autocast where the device multiplies bf16 natively
// (AVX512-BF16/AMX on x86 CPUs, compute capability >= 8 on CUDA). Emulated bf16 is slower than fp32, so
// "auto" only picks bf16 where it is native, and an explicit "bf16" elsewhere is refused.
import { existsSync, readFileSync } from "node:fs";
import { autocast, autocastDeviceType } from "./autocast.js";
import { native } from "./native.js";
import type { Tensor } from "./tensor.js";

export type Precision = "fp32" | "bf16";
export const PRECISION_CHOICES = ["fp32", "bf16", "auto"] as const;
export type PrecisionChoice = (typeof PRECISION_CHOICES)[number];

/** Whether the `flags` of /proc/cpuinfo text name a native bf16 instruction set (avx512_bf16 or amx_bf16). */
export function cpuinfoHasBf16(cpuinfo: string): boolean {
  const line = /^flags\s*:(.*)$/m.exec(cpuinfo);
  if (!line) return false;
  const flags = new Set(line[1]!.trim().split(/\s+/));
  return flags.has("avx512_bf16") || flags.has("amx_bf16");
}

/** Whether `device` (undefined: the CPU) has native bf16 matrix support. */
export function bf16Supported(device: string | undefined): boolean {
  const name = device ?? "cpu";
  if (autocastDeviceType(name) === "cuda") return native.cudaBf16Supported(Number(name.split(":")[1] ?? 0));
  cpuBf16 ??= existsSync("/proc/cpuinfo") && cpuinfoHasBf16(readFileSync("/proc/cpuinfo", "utf-8"));
  return cpuBf16;
}

/** The CPU's answer, read once: its flags do not change while the process runs. */
let cpuBf16: boolean | undefined;

/**
 * The precision to run in: "fp32" as asked; "bf16" where supported, else an error naming the device; "auto" bf16
 * where supported, else fp32. `supported` is the probe (bf16Supported unless a caller knows better).
 */
export function resolvePrecision(
  choice: string,
  device: string | undefined,
  supported: (device: string | undefined) => boolean = bf16Supported,
): Precision {
  if (choice === "fp32") return "fp32";
  if (choice !== "bf16" && choice !== "auto") {
    throw new RangeError(`precision must be one of ${PRECISION_CHOICES.join(", ")}, got '${choice}'`);
  }
  if (supported(device)) return "bf16";
  if (choice === "auto") return "fp32";
  const name = device ?? "cpu";
  const needs =
    autocastDeviceType(name) === "cuda" ? "a GPU of compute capability >= 8" : "a CPU with AVX512-BF16 or AMX";
  throw new Error(`precision bf16: device '${name}' has no native bf16 support (needs ${needs}); use fp32 or auto`);
}

/**
 * `fn`'s result computed in `precision` on `device`, returned in fp32: fp32 runs `fn` as it is (bit-identical to
 * not asking), bf16 runs it under autocast and widens the (logit) result, so losses and gradients of inputs that
 * are taken from it stay fp32, as PyTorch's bf16 AMP does.
 */
export function inPrecision(precision: Precision, device: string | undefined, fn: () => Tensor): Tensor {
  if (precision === "fp32") return fn();
  const out = autocast(device ?? "cpu", "bfloat16", fn);
  return out.dtype === "float32" ? out : out.float();
}
