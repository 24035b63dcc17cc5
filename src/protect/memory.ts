// How much memory protecting one photo takes, told from its header before anything is decoded: a photo that would
// not fit in the memory available now is skipped with that reason instead of being started, because on Linux an
// allocation that overcommits is not refused but ends the whole process (the out-of-memory killer).
import { freemem } from "node:os";

/**
 * Peak memory per pixel of one photo beyond what the loaded models hold: the attack's float32 tensors at the
 * photo's resolution (the photo, its perturbation, their sum, the gradient and PGD's step, ~12 bytes each per
 * pixel) and the byte arrays around them (source, crafted, encoded and decoded copies). Measured on a 48 MP PNG
 * (test/protect/large-photo.test.ts) with room to spare: see README, "Protecting a photo collection".
 */
export const BYTES_PER_PIXEL = 110;

const gib = (bytes: number) => (bytes / 2 ** 30).toFixed(1);

/** Memory the process may still take: the kernel's MemAvailable, within its cgroup's limit (Node >= 20.13). */
export const availableMemory = (): number =>
  typeof process.availableMemory === "function" ? process.availableMemory() : freemem();

/** Why a photo of `pixels` pixels cannot be protected with `available` bytes free, or undefined when it can. */
export function memoryProblem(pixels: number, available: number): string | undefined {
  const need = pixels * BYTES_PER_PIXEL;
  if (need <= available) return undefined;
  return `protecting its ${(pixels / 1e6).toFixed(1)} MP needs about ${gib(need)} GiB of memory, but only ${gib(available)} GiB is available`;
}
