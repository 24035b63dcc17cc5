// Class-targeted adversarial poisons (Fowl et al. 2021), the paper's strongest: minimise CE(f(x + delta), pi(y)).
import { targeted as objective } from "../objective.js";
import { adversarialMethod } from "./adversarial.js";

export const targeted = adversarialMethod("targeted", "Fowl et al. 2021, class-targeted", objective, {
  short: "fooled",
  long: "classified as pi(y) by the crafting model",
});
