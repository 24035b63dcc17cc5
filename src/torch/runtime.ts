// Process-wide libtorch settings: threads, seeds, devices.
import { native } from "./native.js";
import { Tensor } from "./tensor.js";

/** Seeds libtorch's generators (CPU and CUDA) so random draws repeat. */
export function manualSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative integer, got ${seed}`);
  native.manualSeed(seed);
}

/** The CPU generator's state (a uint8 tensor), as torch.get_rng_state(). */
export function getRngState(): Tensor {
  return new Tensor(native.getRngState());
}

/** Restores a state from getRngState(), as torch.set_rng_state(). */
export function setRngState(state: Tensor): void {
  native.setRngState(state.handle);
}

/**
 * Runs `fn` and then puts the CPU generator back where it was, as torch.random.fork_rng(): draws inside (e.g. a
 * model's initialisation that is overwritten at once) leave every later draw as it would have been.
 */
export function forkRng<T>(fn: () => T): T {
  const state = getRngState();
  try {
    return fn();
  } finally {
    setRngState(state);
    state.dispose();
  }
}

export function setNumThreads(n: number): void {
  native.setNumThreads(n);
}

export function getNumThreads(): number {
  return native.getNumThreads();
}

export function cudaIsAvailable(): boolean {
  return native.cudaIsAvailable();
}

/** "cuda" when a CUDA libtorch sees a GPU, else "cpu". */
export function defaultDevice(): string {
  return native.cudaIsAvailable() ? "cuda" : "cpu";
}

export const torchVersion: string = native.torchVersion;
