// Poisoning: the methods table, the PGD engine, the crafting pipeline (plan -> crafting models -> chunks ->
// release), releases with manifests, and their verification.
export {
  type BudgetNorm,
  changedPixels,
  checkEps,
  l2Radius,
  levelsOf,
  MAX_EPS,
  perturbationNorms,
  pixelUnits,
  planEps,
  quantize,
  toGreyLevelsNHWC,
  valueBound,
} from "./budget.js";
export { type ChunkCheck, type ChunkResult, ChunkStore, CRAFTER_FILE } from "./chunk-store.js";
export { type ClassWiseOptions, classSample, classWisePerturbation } from "./class-wise.js";
export { chunkedMethodOf, craftChunks, craftShard, sharedOfRun } from "./craft.js";
export type { CraftRunOptions, CraftRunStats } from "./craft-run.js";
export { type CrafterFile, type FrozenCrafter, loadCrafters, readCrafter } from "./crafters.js";
export { type CrossingCode, codeSigns, crossingBox, crossingInterval } from "./crossing-code.js";
export {
  type AuthorsAugment,
  authorsDiffAugment,
  authorsShift,
  DEFAULT_DIFF_AUGMENT_KIND,
  DIFF_AUGMENT_KINDS,
  type DiffAugmentKind,
  type DiffAugmentOptions,
  diffAugment,
  diffAugmentOf,
  QUARTER_DIFF_AUGMENT,
  type QuarterAugment,
} from "./diff-augment.js";
export * from "./methods/index.js";
export { errorMinimizing, type Objective, targeted, untargeted } from "./objective.js";
export { checkPermutation, readPermutation, shiftPermutation } from "./permutation.js";
export {
  descend,
  ensembleMean,
  type Init,
  initDelta,
  type PgdOptions,
  type PgdResult,
  pgd,
  withRestarts,
} from "./pgd.js";
export {
  type CrafterRequest,
  type Crafters,
  checkOutput,
  checkRequest,
  checkRuntime,
  craftingPrecision,
  craftRelease,
  makePlan,
  obtainCrafter,
  type PlanRequest,
  type ReleaseJob,
  type ReleaseResult,
  runsModel,
  workDirOf,
} from "./pipeline.js";
export {
  type CrafterRef,
  type CraftPlan,
  chunkCount,
  chunkSeed,
  chunksOfShard,
  parseShard,
  planDigest,
  planMethod,
  poisonedIndices,
  precisionOf,
} from "./plan.js";
export { planDatasets } from "./plan-dataset.js";
export { MANIFEST_FILE, type Manifest, releaseSpec, statisticsDigest, writeRelease } from "./release.js";
export { type FileEntry, fileProblems, listReleaseFiles } from "./release-files.js";
export { loadReleaseSplit } from "./release-read.js";
export { type ReleaseChecked, readManifest, type Verdict, type VerifyOptions, verifyRelease } from "./verify.js";
export {
  applyViews,
  type DefenceView,
  lowpass,
  parseViews,
  softPosterize,
  VIEW_KINDS,
  type ViewKind,
} from "./views.js";
