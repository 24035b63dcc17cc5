// Training sets derived in memory from a release: a lower poisoning budget, and the attack's labels.
import { type Dataset, imageBytes, imageSizeOf } from "../data/index.js";
import { checkPermutation, poisonedIndices } from "../poison/index.js";

/**
 * The labels mapped by the attack's permutation: each image labelled pi(y), the class its targeted
 * perturbation points to. Images are shared with `ds`, not copied.
 */
export function relabel(ds: Dataset, pi: readonly number[]): Dataset {
  const perm = checkPermutation(pi, ds.numClasses);
  return { ...ds, labels: Int32Array.from(ds.labels, (y) => perm[y]!) };
}

/**
 * The training set `craft --budget budget --seed seed` would release: the images at
 * poisonedIndices(count, budget, seed) taken from `poisoned` (crafted at budget 1), the others from `clean`.
 * Budget 0 is the clean set.
 *
 * The same images are poisoned as by `craft --budget`, and each by the same procedure: the crafting model
 * is frozen in eval mode and every loss is per image, so an image's PGD never depends on which other images
 * are poisoned. The bytes still differ from a separate `craft --budget` run, because the random start and
 * the augmentation draws of an image come from its chunk's seed and chunks hold different images then: the
 * two are equal in distribution, not bit for bit.
 */
export function withBudget(clean: Dataset, poisoned: Dataset, budget: number, seed: number): Dataset {
  if (!(budget >= 0 && budget <= 1)) throw new RangeError(`budget must be in [0, 1], got ${budget}`);
  if (clean.count !== poisoned.count || imageSizeOf(clean) !== imageSizeOf(poisoned))
    throw new Error(`the release (${poisoned.count} images) does not match its source (${clean.count})`);
  if (budget === 0) return clean;
  if (budget === 1) return poisoned;
  const chosen = poisonedIndices(clean.count, budget, seed);
  if (!clean.images || !poisoned.images) {
    // Streamed: image i read from the release when chosen, else from the clean set.
    const both: Dataset = { ...clean, images: undefined, store: undefined };
    const picked = new Set(chosen);
    const read = (indices: ArrayLike<number>) => {
      const size = imageSizeOf(clean);
      const out = new Uint8Array(indices.length * size);
      for (let b = 0; b < indices.length; b++) {
        const i = indices[b]!;
        out.set(imageBytes(picked.has(i) ? poisoned : clean, i), b * size);
      }
      return out;
    };
    return { ...both, store: { read } };
  }
  const size = clean.height * clean.width * clean.channels;
  const images = new Uint8Array(clean.images);
  for (const i of chosen) images.set(poisoned.images.subarray(i * size, (i + 1) * size), i * size);
  return { ...clean, images };
}
