// Process-wide libtorch settings: threads, seeds, devices.
import { native } from "./native.js";

/** Seeds libtorch's generators (CPU and CUDA) so random draws repeat. */
export function manualSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative integer, got ${seed}`);
  native.manualSeed(seed);
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
