// What an attack minimises, per sample, and when it counts as having succeeded.
import { F, type Tensor } from "../torch/index.js";

export interface Objective {
  readonly name: string;
  /** Per-sample loss to minimise, [N]. `target` is pi(y) for class-targeted attacks. */
  loss(logits: Tensor, y: Tensor, target: Tensor): Tensor;
  /** Per-sample success, bool [N]: the crafting model is fooled the way the attack intends. */
  success(logits: Tensor, y: Tensor, target: Tensor): Tensor;
}

/** Class-targeted: minimise CE(f(x + delta), pi(y)); succeeds when f predicts pi(y). The paper's strongest. */
export const targeted: Objective = {
  name: "targeted",
  loss: (logits, _y, target) => F.crossEntropy(logits, target, { reduction: "none" }),
  success: (logits, _y, target) => logits.argmax(1).eq(target),
};

/** Untargeted: maximise CE(f(x + delta), y); succeeds when f no longer predicts y. */
export const untargeted: Objective = {
  name: "untargeted",
  loss: (logits, y) => F.crossEntropy(logits, y, { reduction: "none" }).neg(),
  success: (logits, y) => logits.argmax(1).ne(y),
};

/** Error-minimising (Unlearnable Examples): minimise CE(f(x + delta), y). */
export const errorMinimizing: Objective = {
  name: "error-min",
  loss: (logits, y) => F.crossEntropy(logits, y, { reduction: "none" }),
  success: (logits, y) => logits.argmax(1).eq(y),
};
