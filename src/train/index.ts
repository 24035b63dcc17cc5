export { type StoppedAccuracy, stoppedAccuracy, type TestAccuracies, testAccuracies } from "./accuracy.js";
export { type CheckpointState, encodeCheckpoint, loadCheckpoint, saveCheckpoint } from "./checkpoint.js";
export { type EvaluateOptions, type Evaluation, evaluate } from "./evaluate.js";
export { type FitResult, fit, freshModel, specOf } from "./fit.js";
export { type Progress, type ProgressFields, type ProgressTask, silentProgress } from "./progress.js";
export { RECIPES, type Recipe, RecipeSchema, recipe, scheduleOf } from "./recipe.js";
export { RUN_FILE, readRunRecord, type TrainRunRecord, writeRunRecord } from "./run-record.js";
export { type EpochRecord, TrainingDiverged, type TrainOptions, type TrainResult, train } from "./trainer.js";
