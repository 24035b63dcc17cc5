// One distinct sign vector per class: the class patterns of LSP's cluster centres (vertices of a hypercube) and of
// the crossing code's patches, drawn from a caller's Rng stream so that each is a function of the plan's seed.
import type { Rng } from "../data/index.js";

/** [classes, features] signs (+1 or -1), no two classes alike, drawn bit by bit from `rng`. */
export function distinctSigns(rng: Rng, classes: number, features: number, owner: string): Int8Array {
  if (features < 31 && 2 ** features < classes)
    throw new RangeError(
      `${owner}: ${features} patch features have ${2 ** features} distinct class patterns, fewer than ${classes} classes; use a smaller patch size`,
    );
  const out = new Int8Array(classes * features);
  const seen = new Set<string>();
  for (let c = 0; c < classes; c++) {
    let bits: number[];
    do bits = Array.from({ length: features }, () => rng.nextUint32() & 1);
    while (seen.has(bits.join("")));
    seen.add(bits.join(""));
    bits.forEach((b, f) => {
      out[c * features + f] = b ? 1 : -1;
    });
  }
  return out;
}
