// The datasets a plan was made on, loaded again wherever the plan is used later (merging shards, queue
// workers on other machines): the same spec, data directory and subset as the craft that made the plan.
import { type Dataset, loadDataset, subset } from "../data/index.js";
import type { CraftPlan } from "./plan.js";

/** The plan's training split (its subset) and the full test split; throws if the source has changed size. */
export function planDatasets(plan: CraftPlan): { train: Dataset; test: Dataset } {
  const { spec, dataDir, subset: first, count } = plan.dataset;
  const { train, test } = loadDataset(spec, dataDir ? { dataDir } : {});
  const used = first !== null ? subset(train, first) : train;
  if (used.count !== count)
    throw new Error(`${spec}: ${used.count} training images, but the plan was made for ${count}`);
  return { train: used, test };
}
