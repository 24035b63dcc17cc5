// Learning-rate schedules as pure functions of training progress (a step count, or fractional epochs):
// nothing to save for a resume, and easy to test.

/** A schedule maps progress (steps or fractional epochs, from 0) to a learning rate. */
export type Schedule = (step: number) => number;

export function constant(lr: number): Schedule {
  return () => lr;
}

/** lr * gamma^(number of milestones <= step), like torch.optim.lr_scheduler.MultiStepLR. */
export function multiStep(lr: number, milestones: readonly number[], gamma = 0.1): Schedule {
  return (step) => lr * gamma ** milestones.filter((m) => m <= step).length;
}

/** Cosine from lr to minLr over `total` steps, like CosineAnnealingLR with T_max = total. */
export function cosine(lr: number, total: number, minLr = 0): Schedule {
  return (step) => minLr + ((lr - minLr) * (1 + Math.cos((Math.PI * Math.min(step, total)) / total))) / 2;
}

/**
 * Linear warm-up from lr/divFactor to lr over `pct` of the steps, then linear decay to ~0: the one-cycle
 * shape used by fast CIFAR recipes (airbench, hlb-CIFAR10).
 */
export function oneCycleLinear(lr: number, total: number, pct = 0.25, divFactor = 25, finalDiv = 1e4): Schedule {
  const peak = Math.max(1, Math.round(total * pct));
  return (step) => {
    if (step <= peak) return lr / divFactor + ((lr - lr / divFactor) * step) / peak;
    const t = Math.min(1, (step - peak) / Math.max(1, total - peak));
    return lr + (lr / finalDiv - lr) * t;
  };
}
