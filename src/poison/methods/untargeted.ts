// Untargeted adversarial poisons (Fowl et al. 2021): maximise CE(f(x + delta), y).
import { untargeted as objective } from "../objective.js";
import { ADVERSARIAL_DEFAULTS, craftAdversarial, NO_SETTINGS } from "./adversarial.js";
import type { ChunkedMethod } from "./method.js";

export const untargeted: ChunkedMethod<typeof NO_SETTINGS> = {
  name: "untargeted",
  citation: "Fowl et al. 2021, untargeted",
  needsCrafter: true,
  ownModel: false,
  augments: true,
  restartable: true,
  defaults: ADVERSARIAL_DEFAULTS,
  budget: () => "linf",
  success: { short: "fooled", long: "no longer classified as y by the crafting model" },
  settings: NO_SETTINGS,
  flags: [],
  chunked: true,
  craftChunk: (input) => craftAdversarial(input, objective),
};
