// The adversarial poisons of Fowl et al. (2021): PGD against the frozen crafting model(s), through the
// differentiable augmentation, class-targeted toward pi(y) or untargeted away from y. Optionally also through
// defence views (../views.ts), so that the poison is crafted to survive the defences an audit applies, and with
// a share of eps spent on one perturbation per class (../class-wise.ts), and inside the bounds of a class code
// that posterizing keeps (../crossing-code.ts).
import { z } from "zod";
import { noGrad, scope, type Tensor, tensor } from "../../torch/index.js";
import { levelsOf } from "../budget.js";
import { classWisePerturbation } from "../class-wise.js";
import { type CrossingCode, crossingBox } from "../crossing-code.js";
import type { Objective } from "../objective.js";
import { intoPixelRange, pgd } from "../pgd.js";
import { augmentOf } from "../plan.js";
import { type DefenceView, parseViews } from "../views.js";
import type { ChunkedMethod, ChunkInput, ChunkOutput, MethodFlag, RunInput } from "./method.js";

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
  /** The share of eps given to one perturbation per class (../class-wise.ts); each image's own gets the rest. */
  classShare: z.number().gt(0).lt(1).optional(),
  /** Images of each class the class-wise perturbation is crafted over (default 64). */
  classSample: z.number().int().positive().optional(),
  /** With it, the crossing code of posterizing to this many bits (../crossing-code.ts). */
  crossBits: z.number().int().min(1).max(7).optional(),
  /** The crossing code's patch side in pixels (default 8, LSP's). */
  crossPatch: z.number().int().positive().optional(),
});
export type AdversarialSettings = z.infer<typeof ADVERSARIAL_SETTINGS>;

const DEFAULT_VIEW_SHARE = 0.5;
const DEFAULT_CLASS_SAMPLE = 64;
const DEFAULT_CROSS_PATCH = 8;

function parsesAsViews(text: string): boolean {
  try {
    return parseViews(text).length > 0;
  } catch {
    return false;
  }
}

/** The crossing code the settings ask for. */
function crossingCodeOf(s: AdversarialSettings): CrossingCode | undefined {
  if (s.crossBits === undefined) return undefined;
  return { bits: s.crossBits, patchSize: s.crossPatch ?? DEFAULT_CROSS_PATCH };
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
  {
    flags: "--class-share <p>",
    key: "classShare",
    description:
      "the share of eps (0 < p < 1) given to one perturbation per class, crafted first over a sample of the " +
      "class's images; each image's own perturbation gets the rest (targeted/untargeted)",
    parse: Number,
  },
  {
    flags: "--class-sample <n>",
    key: "classSample",
    description: "images of each class the class-wise perturbation is crafted over (default 64)",
    parse: Number,
  },
  {
    flags: "--cross-bits <bits>",
    key: "crossBits",
    description:
      "a class code that posterizing to BITS bits (1-7) keeps: each value crosses the nearest threshold within eps " +
      "in its class's direction for its patch, or stays on its side; the attack works inside those bounds " +
      "(targeted/untargeted)",
    parse: Number,
  },
  {
    flags: "--cross-patch <n>",
    key: "crossPatch",
    description: "the crossing code's patch side in pixels, one direction per patch and class (default 8)",
    parse: Number,
  },
];

/** With `classShare`: the class-wise perturbations of the run, [classes, C, H, W] (pixel units). */
function classWisePart(input: RunInput, objective: Objective, s: AdversarialSettings): Tensor | undefined {
  if (s.classShare === undefined) return undefined;
  const { plan } = input;
  const perClass = s.classSample ?? DEFAULT_CLASS_SAMPLE;
  input.log(
    `class-wise perturbations: ${input.ds.numClasses} classes, up to ${perClass} images each, ${plan.steps} steps, ` +
      `${Math.round(100 * s.classShare)}% of eps`,
  );
  return classWisePerturbation(
    input.models,
    input.ds,
    input.poisoned,
    objective,
    {
      eps: s.classShare * input.eps,
      stepSize: s.classShare * input.stepSize,
      steps: plan.steps,
      augment: augmentOf(plan),
      perClass,
      batchSize: plan.chunkSize,
      permutation: plan.permutation,
    },
    input.device,
  );
}

/**
 * With `crossBits`: the crossing code's bounds on the chunk's PGD perturbation, which is added to the class-wise
 * part (when there is one), so that the two together land inside the code's bounds.
 */
function codeBox(
  { ds, plan, x, indices }: ChunkInput,
  settings: AdversarialSettings,
  classPart: Tensor | undefined,
): { lo: Tensor; hi: Tensor } | undefined {
  const code = crossingCodeOf(settings);
  if (!code) return undefined;
  const labels = Int32Array.from(indices, (i) => ds.labels[i]!);
  const box = crossingBox(x, labels, ds.numClasses, code, levelsOf(plan.eps), plan.seed);
  if (!classPart) return box;
  const shifted = noGrad(() => ({ lo: box.lo.sub(classPart), hi: box.hi.sub(classPart) }));
  box.lo.dispose();
  box.hi.dispose();
  return shifted;
}

/**
 * One chunk of adversarial poisons for `objective`, with the plan's restarts and augmentation. With class-wise
 * perturbations (`classes`, from `classShare`), each image's PGD starts from x plus its class's part and spends the
 * rest of eps; the two together stay within eps.
 */
export function craftAdversarial(
  input: ChunkInput,
  objective: Objective,
  settings: AdversarialSettings,
  classes?: Tensor,
): ChunkOutput {
  const { ds, plan, x, y, indices } = input;
  const own = 1 - (classes ? settings.classShare! : 0);
  const target = tensor(
    Int32Array.from(indices, (i) => plan.permutation[ds.labels[i]!]!),
    [indices.length],
    { device: x.device },
  ).long();
  const classPart = classes ? noGrad(() => scope(() => intoPixelRange(x, classes.indexSelect(0, y)))) : undefined;
  const start = classPart ? x.add(classPart) : x;
  const box = codeBox(input, settings, classPart);
  try {
    const r = pgd(input.models, start, y, target, objective, {
      eps: own * input.eps,
      stepSize: own * input.stepSize,
      steps: plan.steps,
      init: plan.init,
      restarts: plan.restarts,
      augment: augmentOf(plan),
      views: viewsOf(settings),
      box,
    });
    return { delta: classPart ? r.delta.add_(classPart) : r.delta, success: r.success };
  } finally {
    target.dispose();
    box?.lo.dispose();
    box?.hi.dispose();
    if (classPart) {
      classPart.dispose();
      start.dispose();
    }
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
    prepare: (input, settings) => classWisePart(input, objective, settings),
    craftChunk: (input, settings, classes) => craftAdversarial(input, objective, settings, classes),
  };
}
