// Adversarial training (Madry et al. 2018) as a defence: every batch is replaced by untargeted PGD examples
// against the victim as it is at that step (eval mode during the attack, so batch-norm statistics are not
// updated by attack passes, as in the `robustness` library), and the victim trains on those. Uses the same
// PGD as the poisons (signed steps, projection on the L-inf ball and [0, 1]), uniform random start.
import { pgd, untargeted } from "../../poison/index.js";
import type { BatchTransform } from "./types.js";

export interface AdversarialOptions {
  /** L-inf radius in grey levels. */
  eps: number;
  steps: number;
  /** Step size as a fraction of eps (Madry et al.'s 2.5 eps / steps is 0.5 for 5 steps). */
  tau: number;
}

export function adversarialTraining(o: AdversarialOptions): BatchTransform {
  if (!(o.eps > 0)) throw new RangeError(`adversarial training: eps must be positive, got ${o.eps}`);
  return ({ x, y }, { model }) => {
    const wasTraining = model.training;
    model.eval();
    try {
      const r = pgd([model], x, y, y, untargeted, {
        eps: o.eps / 255,
        stepSize: (o.tau * o.eps) / 255,
        steps: o.steps,
        init: "uniform",
        restarts: 1,
        augment: undefined,
      });
      // pgd keeps its result out of every scope; the sum belongs to the step's scope.
      const adv = x.add(r.delta);
      r.delta.dispose();
      return { x: adv.detach() };
    } finally {
      model.train(wasTraining);
    }
  };
}
