// Gradient mode switches and gradients with respect to chosen inputs.
import { native } from "./native.js";
import { Tensor } from "./tensor.js";

/** Runs `fn` with gradient recording off (like torch.no_grad), restoring the previous mode afterwards. */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/** Runs `fn` with gradient recording on, even inside noGrad. */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}

function withGradMode<T>(on: boolean, fn: () => T): T {
  const before = native.isGradEnabled();
  native.setGradEnabled(on);
  try {
    const r = fn();
    if (r instanceof Promise) throw new Error("noGrad/enableGrad: fn returned a Promise; grad mode is synchronous");
    return r;
  } finally {
    native.setGradEnabled(before);
  }
}

export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}

export interface GradOptions {
  gradOutputs?: Tensor[];
  retainGraph?: boolean;
  createGraph?: boolean;
}

/**
 * d(sum of outputs)/d(inputs), like torch.autograd.grad: returns new tensors and leaves every `.grad`
 * untouched, which is what PGD needs (gradients of the input only, model parameters untouched).
 */
export function grad(outputs: Tensor | Tensor[], inputs: Tensor | Tensor[], options: GradOptions = {}): Tensor[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const ins = Array.isArray(inputs) ? inputs : [inputs];
  const result = native.gradOf(
    outs.map((t) => t.handle),
    ins.map((t) => t.handle),
    options.gradOutputs?.map((t) => t.handle),
    options.retainGraph,
    options.createGraph ?? false,
    false,
  );
  return result.map((g, i) => {
    if (g === undefined) throw new Error(`grad(): input ${i} was not used to compute the outputs`);
    return new Tensor(g);
  });
}
