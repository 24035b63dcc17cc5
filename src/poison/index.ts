export { checkEps, levelsOf, MAX_EPS, perturbationNorms, quantize } from "./budget.js";
export { type ChunkResult, ChunkStore } from "./chunk-store.js";
export {
  type CraftRunOptions,
  type CraftRunStats,
  craftChunks,
  craftShard,
  SUCCESS_MEANS,
  TENSORCLOG_BATCH_SIZE,
} from "./craft.js";
export { DEFAULT_DIFF_AUGMENT, type DiffAugmentOptions, diffAugment } from "./diff-augment.js";
export {
  craftErrorMin,
  ERROR_MIN_DEFAULTS,
  type ErrorMinMode,
  type ErrorMinRound,
  type ErrorMinSettings,
  type ErrorMinStats,
  errorMinSettings,
} from "./error-min.js";
export { errorMinimizing, type Objective, targeted, untargeted } from "./objective.js";
export { checkPermutation, readPermutation, shiftPermutation } from "./permutation.js";
export { type Init, type PgdOptions, type PgdResult, pgd } from "./pgd.js";
export {
  type CraftPlan,
  chunkCount,
  chunkSeed,
  chunksOfShard,
  POISON_RECIPES,
  type PoisonRecipe,
  parseShard,
  planDigest,
  poisonedIndices,
} from "./plan.js";
export { planDatasets } from "./plan-dataset.js";
export { MANIFEST_FILE, type Manifest, releaseSpec, writeRelease } from "./release.js";
export { type TensorClogOptions, type TensorClogResult, tensorclog } from "./tensorclog.js";
export { readManifest, type Verdict, verifyRelease } from "./verify.js";
