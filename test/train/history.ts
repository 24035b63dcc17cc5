// Training histories for tests of what is computed from them (final and peak accuracy, tables, reports).
import type { EpochRecord } from "../../src/train/index.js";

/** A history with these per-epoch test accuracies (undefined: no test set that epoch). */
export function historyOf(testAccs: readonly (number | undefined)[]): EpochRecord[] {
  return testAccs.map((testAcc, i) => ({
    epoch: i + 1,
    lr: 0.1,
    trainLoss: 1,
    trainAcc: 0.5,
    seconds: 1,
    ...(testAcc === undefined ? {} : { testAcc }),
  }));
}
