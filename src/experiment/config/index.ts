// Experiment configurations: their schemas, the built-in defaults and presets, and how a run's configuration is
// resolved from them.
export { DEFAULT_CONFIGS } from "./defaults.js";
export {
  deepMerge,
  packageConfigPath,
  parseSet,
  type ResolvedConfig,
  type ResolveOptions,
  readConfigFile,
  resolveConfig,
  setPath,
  validateConfig,
} from "./resolve.js";
export {
  type AnyConfig,
  CONFIG_SCHEMAS,
  type ConfigOf,
  EXPERIMENT_NAMES,
  type ExperimentName,
  LABELINGS,
  type Labeling,
  METHOD_BLOCKS,
  METHOD_CONDITIONS,
} from "./schema.js";
