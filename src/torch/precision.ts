// Which precision a run computes in: fp32, or bf16 autocast where the device multiplies bf16 natively
// (AVX512-BF16/AMX on x86 CPUs, compute capability >= 8 on CUDA). Emulated bf16 is slower than fp32, so
// "auto" only picks bf16 where it is native, and an explicit "bf16" elsewhere is refused.
import { existsSync, readFileSync } from "node:fs";
import { autocast, autocastDeviceType } from "./autocast.js";
import { enableGrad, grad } from "./autograd.js";
import { arange } from "./creation.js";
import { conv2d } from "./functional.js";
import { native } from "./native.js";
import { scope } from "./scope.js";
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

/** The probe's answers by device: a device's kernels do not change while the process runs. */
const secondOrder = new Map<string, string | null>();

/**
 * Why `device` cannot differentiate a convolution's parameter gradient again (a double backward, as
 * TensorClog's objective needs) in `precision`, or null when it can. libtorch 1.13's CPU bf16 kernels cannot
 * once a convolution's input and output channels differ (its double backward mixes them up); a tiny
 * convolution of that shape is tried once per device, on fixed values (the random generator is untouched).
 */
export function secondOrderError(precision: Precision, device: string | undefined): string | null {
  if (precision === "fp32") return null;
  const name = device ?? "cpu";
  let answer = secondOrder.get(name);
  if (answer === undefined) {
    // With grad on whatever the caller's mode: a probe inside noGrad must not report the mode as the kernels' fault.
    answer = enableGrad(() =>
      scope(() => {
        const on = { device: name };
        const x = arange(0, 32, 1, on).div(32).reshape(2, 1, 4, 4).requiresGrad_(true);
        const w = arange(-9, 9, 1, on).div(9).reshape(2, 1, 3, 3).requiresGrad_(true);
        try {
          const y = inPrecision(precision, name, () => conv2d(x, w, undefined, { padding: 1 }));
          const [g] = grad(y.pow(2).sum(), w, { createGraph: true });
          grad(g!.pow(2).sum(), x);
          return null;
        } catch (e) {
          return (e instanceof Error ? e.message : String(e)).split("\n")[0]!;
        }
      }),
    );
    secondOrder.set(name, answer);
  }
  return answer;
}
