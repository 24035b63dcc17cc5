// Final and peak clean test accuracy of a training history. A defender holding a clean validation set stops
// at the best epoch, so a poison is judged by both: the last epoch's accuracy and the best epoch's. The peak
// picks that epoch on the test set itself; the stopped accuracy picks it on separate validation data.
import type { EpochRecord } from "./trainer.js";

export interface TestAccuracies {
  /** Clean test accuracy after the last epoch (0..1). */
  test_acc: number;
  /** The best epoch's clean test accuracy (0..1). */
  peak_test_acc: number;
  /** The best epoch (1-based; the earliest of equal ones). */
  peak_epoch: number;
}

/** Final and peak test accuracy; NaN where no epoch has a test accuracy (training without a test set). */
export function testAccuracies(history: readonly EpochRecord[]): TestAccuracies {
  let peak: EpochRecord | undefined;
  for (const r of history) {
    if (r.testAcc !== undefined && Number.isFinite(r.testAcc) && (peak === undefined || r.testAcc > peak.testAcc!))
      peak = r;
  }
  return {
    test_acc: history[history.length - 1]?.testAcc ?? Number.NaN,
    peak_test_acc: peak?.testAcc ?? Number.NaN,
    peak_epoch: peak?.epoch ?? Number.NaN,
  };
}

/** What a defender who stops early gets: the epoch chosen on validation data, scored on the test set. */
export interface StoppedAccuracy {
  /** The test accuracy after `stopped_epoch` (0..1). */
  stopped_test_acc: number;
  /** The epoch of best validation accuracy (1-based; the earliest of equal ones). */
  stopped_epoch: number;
}

/**
 * The early-stopped accuracy of a history with validation and test accuracies: the epoch is chosen by
 * validation accuracy alone, so the test data that scores it never takes part in the choice (unlike the
 * peak of testAccuracies). NaN where no epoch has both.
 */
export function stoppedAccuracy(history: readonly EpochRecord[]): StoppedAccuracy {
  let best: EpochRecord | undefined;
  for (const r of history) {
    if (r.valAcc === undefined || !Number.isFinite(r.valAcc) || r.testAcc === undefined) continue;
    if (best === undefined || r.valAcc > best.valAcc!) best = r;
  }
  return { stopped_test_acc: best?.testAcc ?? Number.NaN, stopped_epoch: best?.epoch ?? Number.NaN };
}
