// Final and peak clean test accuracy of a training history. A defender holding a clean validation set stops
// at the best epoch, so a poison is judged by both: the last epoch's accuracy and the best epoch's.
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
