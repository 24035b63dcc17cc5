// Shared by the crafting and engine benchmarks: the four variants each case times (ours and PyTorch's, in fp32
// and in each side's fast bf16 path), alternated in rounds, and the JSON line the issue asks for.
import { median, printCase } from "./timing.js";

export type Variant = "fp32" | "bf16";
export const VARIANTS: readonly Variant[] = ["fp32", "bf16"];

/** Seconds of each side in each variant, one entry per round. */
export type Timings = Record<`${"ours" | "torch"}_${Variant}`, number[]>;

export function emptyTimings(): Timings {
  return { ours_fp32: [], ours_bf16: [], torch_fp32: [], torch_bf16: [] };
}

/**
 * Runs `rounds` rounds of: ours fp32, PyTorch fp32, ours bf16, PyTorch bf16, so that this machine's drifting speed
 * affects all four alike. `ours` and `torch` return seconds for one measurement (the first round may warm up).
 */
export async function alternate(
  rounds: number,
  ours: (variant: Variant, round: number) => number | Promise<number>,
  torch: (variant: Variant, round: number) => Promise<number>,
): Promise<Timings> {
  const t = emptyTimings();
  for (let r = 0; r < rounds; r++) {
    for (const v of VARIANTS) {
      t[`ours_${v}`].push(await ours(v, r));
      t[`torch_${v}`].push(await torch(v, r));
    }
  }
  return t;
}

/**
 * The case's JSON line: medians and how many times faster ours is than PyTorch (PyTorch's seconds / ours), like
 * for like in each precision first, then ours in bf16 against PyTorch in fp32 (two changes at once: the precision
 * and the implementation).
 */
export function printPrecisionCase(name: string, t: Timings): void {
  const m = (xs: number[]) => +median(xs).toFixed(4);
  const row = {
    case: name,
    ours_fp32_s: m(t.ours_fp32),
    ours_bf16_s: m(t.ours_bf16),
    torch_fp32_s: m(t.torch_fp32),
    torch_bf16_s: m(t.torch_bf16),
  };
  printCase({
    ...row,
    speedup_fp32_vs_torch_fp32: +(row.torch_fp32_s / row.ours_fp32_s).toFixed(3),
    speedup_bf16_vs_torch_bf16: +(row.torch_bf16_s / row.ours_bf16_s).toFixed(3),
    speedup_bf16_vs_torch_fp32: +(row.torch_fp32_s / row.ours_bf16_s).toFixed(3),
  });
}
