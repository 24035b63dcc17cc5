// Class-targeted adversarial poisons (Fowl et al. 2021), the paper's strongest: minimise CE(f(x + delta), pi(y)).
import { targeted as objective } from "../objective.js";
import { ADVERSARIAL_DEFAULTS, craftAdversarial, NO_SETTINGS } from "./adversarial.js";
import type { ChunkedMethod } from "./method.js";

export const targeted: ChunkedMethod<typeof NO_SETTINGS> = {
  name: "targeted",
  citation: "Fowl et al. 2021, class-targeted",
  needsCrafter: true,
  ownModel: false,
  augments: true,
  restartable: true,
  defaults: ADVERSARIAL_DEFAULTS,
  budget: () => "linf",
  success: { short: "fooled", long: "classified as pi(y) by the crafting model" },
  settings: NO_SETTINGS,
  flags: [],
  chunked: true,
  craftChunk: (input) => craftAdversarial(input, objective),
};
