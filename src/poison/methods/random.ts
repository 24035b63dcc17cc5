// Random noise, uniform in the eps ball: the baseline that shows a perturbation of this size alone does not
// stop learning.
import { noGrad } from "../../torch/index.js";
import { initDelta } from "../pgd.js";
import { ADVERSARIAL_DEFAULTS, NO_SETTINGS } from "./adversarial.js";
import type { ChunkedMethod } from "./method.js";

export const random: ChunkedMethod<typeof NO_SETTINGS> = {
  name: "random",
  citation: "uniform noise in the eps ball",
  needsCrafter: false,
  ownModel: false,
  augments: false,
  attacks: false,
  restartable: false,
  // Not used (no attack); the plan records them as it always has.
  defaults: ADVERSARIAL_DEFAULTS,
  budget: () => "linf",
  success: { short: "fooled", long: "fooled the crafting model (never counted: no attack)" },
  settings: NO_SETTINGS,
  flags: [],
  chunked: true,
  craftChunk: ({ x, eps, indices }) => ({
    delta: noGrad(() => initDelta(x.shape, "uniform", eps, x.device)),
    success: new Uint8Array(indices.length),
  }),
};
