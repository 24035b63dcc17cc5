// What of a release's perturbation reaches a victim through each defence that is a function of the images alone
// (bit-depth reduction, JPEG, grayscale): each release image and its clean source go through the defence, and the
// difference between the two is what the victim can still learn from. It says why a defence holds out: 2-bit
// posterizing, for one, passes a pixel's change only where it crosses one of the thresholds 64, 128 and 192, so
// an eps-16 perturbation of a black background reaches no victim however it was crafted.
import { buildBatch, type Dataset, imageSizeOf } from "../../data/index.js";
import { noGrad, scope, type Tensor } from "../../torch/index.js";
import { type DefenseChoice, imageDefense } from "../defenses/index.js";

/** The perturbation after one defence ("none": as released), over every value of every training image. */
export interface SurvivalRow {
  defense: string;
  /** The share of pixel values (all images, channels, positions) that differ from the clean image's. */
  changed: number;
  /** The mean absolute difference, grey levels (0..255), over all values. */
  mean_abs: number;
}

/** The release as it is, then every defence of `defenses` that is a function of the images, in their order. */
export function perturbationSurvival(
  release: Dataset,
  source: Dataset,
  defenses: readonly DefenseChoice[],
  // About a million values a batch: float32 sums of grey levels stay exact to well under a level.
  batchSize = Math.max(1, Math.floor(2 ** 20 / imageSizeOf(release))),
): SurvivalRow[] {
  if (release.count !== source.count)
    throw new Error(`survival: the release has ${release.count} images, the source ${source.count}`);
  const views: { defense: string; f: (x: Tensor) => Tensor }[] = [{ defense: "none", f: (x) => x }];
  for (const d of defenses) {
    const f = imageDefense(d.name, d.settings);
    if (f && !views.some((v) => v.defense === d.label)) views.push({ defense: d.label, f });
  }
  const changed = new Float64Array(views.length);
  const absSum = new Float64Array(views.length);
  for (let start = 0; start < release.count; start += batchSize) {
    const indices = Int32Array.from({ length: Math.min(batchSize, release.count - start) }, (_, i) => start + i);
    scope(() =>
      noGrad(() => {
        const poisoned = buildBatch(release, indices).x;
        const clean = buildBatch(source, indices).x;
        for (const [k, v] of views.entries()) {
          // Both sides are 8-bit values / 255 (or their luminance): a change of half a grey level is a change.
          const d = v.f(poisoned).sub(v.f(clean)).mul(255).abs();
          changed[k]! += d.gt(0.5).long().sum().item();
          absSum[k]! += d.sum().item();
        }
      }),
    );
  }
  const values = release.count * release.channels * release.height * release.width;
  return views.map((v, k) => ({ defense: v.defense, changed: changed[k]! / values, mean_abs: absSum[k]! / values }));
}
