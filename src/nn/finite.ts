// Non-finite weights: what a diverged training run leaves (a too-high learning rate); a model holding them
// computes NaN for every input, so nothing may train on, craft with or save it as if it were a model.
import { scope } from "../torch/index.js";
import type { Module } from "./module.js";

const FLOAT_DTYPES: ReadonlySet<string> = new Set(["float32", "float64", "bfloat16", "float16"]);

/** The PyTorch name of the first parameter or buffer of `model` holding a NaN or an infinity, or undefined. */
export function firstNonFinite(model: Module): string | undefined {
  for (const [name, t] of model.stateDict()) {
    if (!FLOAT_DTYPES.has(t.dtype) || t.numel === 0) continue;
    // amax propagates NaN, and |t| turns -inf into inf.
    if (!Number.isFinite(scope(() => t.abs().amax().item()))) return name;
  }
  return undefined;
}
