// Experiments of the paper at a configurable scale: methods, eps, budget, transfer, defenses, labels; and the
// audit of a given release.
export * from "./audit/index.js";
export {
  CONFIG_SCHEMAS,
  type ConfigOf,
  DEFAULT_CONFIGS,
  deepMerge,
  EXPERIMENT_NAMES,
  type ExperimentName,
  METHOD_CONDITIONS,
  packageConfigPath,
  type ResolvedConfig,
  type ResolveOptions,
  resolveConfig,
  validateConfig,
} from "./config/index.js";
export * from "./defenses/index.js";
export { relabel, withBudget } from "./derive.js";
export { EXPERIMENTS, type ExperimentDef } from "./experiments.js";
export { TABLE_COLUMNS, tableRows, textTable } from "./output.js";
export { describeScale, type ExperimentOptions, type ExperimentResult, runExperiment } from "./run.js";
export {
  type Condition,
  evenOddHalves,
  type ReleaseSpec,
  Runner,
  type RunnerConfig,
  type RunStats,
  type VictimSpec,
} from "./runner.js";
export { digestOf, RESULTS_CSV, RESULTS_JSON, ResultsStore, SUMMARY_CSV, type SummaryRow, toCsv } from "./store.js";
