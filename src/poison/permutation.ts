// The class permutation pi of class-targeted poisoning: each image is pushed toward class pi(y).
import { readFileSync } from "node:fs";

/** y -> (y + 1) mod C, the paper's default. */
export function shiftPermutation(numClasses: number): number[] {
  return Array.from({ length: numClasses }, (_, y) => (y + 1) % numClasses);
}

export function checkPermutation(pi: readonly number[], numClasses: number, source = "permutation"): number[] {
  if (pi.length !== numClasses) throw new RangeError(`${source}: has ${pi.length} entries for ${numClasses} classes`);
  const seen = new Set<number>();
  for (const [y, t] of pi.entries()) {
    if (!Number.isInteger(t) || t < 0 || t >= numClasses)
      throw new RangeError(`${source}: class ${y} maps to ${t}, not a class`);
    if (seen.has(t))
      throw new RangeError(`${source}: class ${t} is the target of two classes; pi must be a permutation`);
    seen.add(t);
  }
  return [...pi];
}

/** A JSON array [pi(0), pi(1), ...]. */
export function readPermutation(path: string, numClasses: number): number[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf-8"));
  } catch (e) {
    throw new Error(`${path}: not a readable JSON permutation (${(e as Error).message})`);
  }
  if (!Array.isArray(parsed)) throw new Error(`${path}: expected a JSON array of class indices`);
  return checkPermutation(parsed as number[], numClasses, path);
}
