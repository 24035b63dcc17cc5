// The adversarial poisons of Fowl et al. (2021): PGD against the frozen crafting model(s), through the
// differentiable augmentation, class-targeted toward pi(y) or untargeted away from y. Optionally also through
// defence views (../views.ts), so that the poison is crafted to survive the defences an audit applies.
import { z } from "zod";
import { tensor } from "../../torch/index.js";
import type { Objective } from "../objective.js";
import { pgd } from "../pgd.js";
import { augmentOf } from "../plan.js";
import { type DefenceView, parseViews } from "../views.js";
import type { ChunkedMethod, ChunkInput, ChunkOutput, MethodFlag } from "./method.js";

/** The authors' PGD: 250 signed steps of 0.05 eps from a Gaussian start. */
export const ADVERSARIAL_DEFAULTS = { steps: 250, tau: 0.05, init: "randn" } as const;

/** No settings beyond the plan's PGD ones (the baselines that need none). */
export const NO_SETTINGS = z.strictObject({});

/**
 * Beyond the plan's PGD settings, only the defence views; both absent by default, so that plans without views
 * keep the digest (and the bytes) they always had.
 */
export const ADVERSARIAL_SETTINGS = z.strictObject({
  /** Defence views, "bdr:2,lowpass:3" (see parseViews); validated by parsing. */
  views: z
    .string()
    .refine((v) => parsesAsViews(v), { message: "not a list of defence views" })
    .optional(),
  /** The share of the attack's views that pass through a defence view (default 0.5 with views). */
  viewShare: z.number().gt(0).max(1).optional(),
});
export type AdversarialSettings = z.infer<typeof ADVERSARIAL_SETTINGS>;

const DEFAULT_VIEW_SHARE = 0.5;

function parsesAsViews(text: string): boolean {
  try {
    return parseViews(text).length > 0;
  } catch {
    return false;
  }
}

/** The views the settings ask for and the share of the attack's views they take. */
export function viewsOf(s: AdversarialSettings): { views: DefenceView[]; share: number } | undefined {
  if (s.views === undefined) return undefined;
  return { views: parseViews(s.views), share: s.viewShare ?? DEFAULT_VIEW_SHARE };
}

const ADVERSARIAL_FLAGS: MethodFlag[] = [
  {
    flags: "--views <list>",
    key: "views",
    description:
      "defence views inside the attack, comma-separated: bdr[:BITS] (smooth bit-depth reduction, 2), lowpass[:K] " +
      "(each 8x8 block's K x K lowest DCT frequencies, JPEG's loss of detail, 3), noise[:SIGMA] (grey levels, 8), " +
      "cutout[:FRACTION] (0.5), crop[:SCALE] (random resized crop, AAP's, 0.2), jitter[:STRENGTH] (brightness and " +
      "contrast, 0.4) (targeted/untargeted)",
  },
  {
    flags: "--view-share <p>",
    key: "viewShare",
    description: "the share of the attack's views that pass through a defence view (default 0.5)",
    parse: Number,
  },
];

/** One chunk of adversarial poisons for `objective`, with the plan's restarts and augmentation. */
export function craftAdversarial(input: ChunkInput, objective: Objective, settings: AdversarialSettings): ChunkOutput {
  const { ds, plan, x, y, indices } = input;
  const target = tensor(
    Int32Array.from(indices, (i) => plan.permutation[ds.labels[i]!]!),
    [indices.length],
    { device: x.device },
  ).long();
  try {
    const r = pgd(input.models, x, y, target, objective, {
      eps: input.eps,
      stepSize: input.stepSize,
      steps: plan.steps,
      init: plan.init,
      restarts: plan.restarts,
      augment: augmentOf(plan),
      views: viewsOf(settings),
    });
    return { delta: r.delta, success: r.success };
  } finally {
    target.dispose();
  }
}

/** An adversarial poison: a chunked method with the objective its attack minimises (protect attacks photos by it). */
export interface AdversarialMethod extends ChunkedMethod<typeof ADVERSARIAL_SETTINGS> {
  readonly objective: Objective;
}

/** An adversarial poison method: what differs between the two is the objective and what success means. */
export function adversarialMethod(
  name: string,
  citation: string,
  objective: Objective,
  success: { short: string; long: string },
): AdversarialMethod {
  return {
    name,
    objective,
    citation,
    needsCrafter: true,
    ownModel: false,
    augments: true,
    attacks: true,
    restartable: true,
    defaults: ADVERSARIAL_DEFAULTS,
    budget: () => "linf",
    success,
    settings: ADVERSARIAL_SETTINGS,
    flags: ADVERSARIAL_FLAGS,
    chunked: true,
    craftChunk: (input, settings) => craftAdversarial(input, objective, settings),
  };
}
