// Untargeted adversarial poisons (Fowl et al. 2021): maximise CE(f(x + delta), y).
import { untargeted as objective } from "../objective.js";
import { adversarialMethod } from "./adversarial.js";

export const untargeted = adversarialMethod("untargeted", "Fowl et al. 2021, untargeted", objective, {
  short: "fooled",
  long: "no longer classified as y by the crafting model",
});
