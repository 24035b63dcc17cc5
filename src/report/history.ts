// Curves from training histories.
import type { EpochRecord } from "../train/trainer.js";
import type { CurveSeries } from "./types.js";

/** One series of `key` per epoch (epochs without the value, e.g. no test set, are left out). */
export function historySeries(
  name: string,
  history: readonly EpochRecord[],
  key: "testAcc" | "trainAcc" | "trainLoss" | "lr" = "testAcc",
): CurveSeries {
  const points: [number, number][] = [];
  for (const r of history) {
    const v = r[key];
    if (v !== undefined && Number.isFinite(v)) points.push([r.epoch, v]);
  }
  return { name, points };
}
