// The adversarial poisons of Fowl et al. (2021): PGD against the frozen crafting model(s), through the
// differentiable augmentation, class-targeted toward pi(y) or untargeted away from y.
import { z } from "zod";
import { tensor } from "../../torch/index.js";
import type { Objective } from "../objective.js";
import { pgd } from "../pgd.js";
import { augmentOf } from "../plan.js";
import type { ChunkedMethod, ChunkInput, ChunkOutput } from "./method.js";

/** The authors' PGD: 250 signed steps of 0.05 eps from a Gaussian start. */
export const ADVERSARIAL_DEFAULTS = { steps: 250, tau: 0.05, init: "randn" } as const;

/** No settings beyond the plan's PGD ones. */
export const NO_SETTINGS = z.strictObject({});

/** One chunk of adversarial poisons for `objective`, with the plan's restarts and augmentation. */
export function craftAdversarial(input: ChunkInput, objective: Objective): ChunkOutput {
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
    });
    return { delta: r.delta, success: r.success };
  } finally {
    target.dispose();
  }
}

/** An adversarial poison method: what differs between the two is the objective and what success means. */
export function adversarialMethod(
  name: string,
  citation: string,
  objective: Objective,
  success: { short: string; long: string },
): ChunkedMethod<typeof NO_SETTINGS> {
  return {
    name,
    citation,
    needsCrafter: true,
    ownModel: false,
    augments: true,
    attacks: true,
    restartable: true,
    defaults: ADVERSARIAL_DEFAULTS,
    budget: () => "linf",
    success,
    settings: NO_SETTINGS,
    flags: [],
    chunked: true,
    craftChunk: (input) => craftAdversarial(input, objective),
  };
}
