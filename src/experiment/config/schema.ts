// Experiment configurations, their shape: one strict zod schema per experiment (unknown keys fail), with the
// blocks every experiment shares (data, crafting model, poison, victims) and the methods table's own settings
// schemas for the baselines of the methods experiment.
import { z } from "zod";
import {
  DIFF_AUGMENT_KINDS,
  ERROR_MIN_SETTINGS,
  LSP_SETTINGS,
  MAX_EPS,
  METHOD_NAMES,
  TENSORCLOG_SETTINGS,
} from "../../poison/index.js";
import { DEFENSE_NAMES } from "../defenses/index.js";

/** How the labels experiment labels a release's images. */
export const LABELINGS = ["original", "permuted", "predicted"] as const;
export type Labeling = (typeof LABELINGS)[number];

export const EXPERIMENT_NAMES = ["methods", "eps", "budget", "transfer", "defenses", "labels"] as const;
export type ExperimentName = (typeof EXPERIMENT_NAMES)[number];

/** The methods experiment's conditions: no poison ("clean"), then every method of the methods table. */
export const METHOD_CONDITIONS: readonly string[] = ["clean", ...METHOD_NAMES];

const posInt = z.number().int().positive();
const eps = z.number().positive().max(MAX_EPS);

const CrafterSchema = z.strictObject({
  /** Architecture of the crafting model. */
  model: z.string(),
  /** Training recipe (fast, crafting, victim). */
  recipe: z.string(),
  /** Epochs; null: the recipe's own. */
  epochs: posInt.nullable(),
  /** Train the crafter on the first n training images; null: the whole training set. */
  subset: posInt.nullable(),
  /** An existing crafting model (.safetensors) instead of training one. */
  path: z.string().nullable(),
});

const PoisonSchema = z.strictObject({
  /** The adversarial poison of eps/budget/transfer/defenses/labels (methods lists its own). */
  method: z.enum(["targeted", "untargeted"]),
  /** L-inf budget in grey levels (16 = 16/255). */
  eps,
  steps: posInt,
  /** PGD step size as a fraction of eps. */
  tau: z.number().positive(),
  init: z.enum(["randn", "uniform", "zero"]),
  restarts: posInt,
  /** Differentiable shift+flip inside the attack (Fowl et al.). */
  augment: z.boolean(),
  /** Which: the authors' RandomTransform or the quarter-side shift of advpoison before 0.2. */
  augmentKind: z.enum(DIFF_AUGMENT_KINDS),
  /** Images crafted together (the unit of resuming a release). */
  chunkSize: posInt,
});

const VictimSchema = z.strictObject({
  model: z.string(),
  recipe: z.string(),
  /** null: the recipe's own. */
  epochs: posInt.nullable(),
  lr: z.number().positive().nullable(),
  batchSize: posInt.nullable(),
});

const common = {
  experiment: z.enum(EXPERIMENT_NAMES),
  /** A dataset spec: fashion-mnist, mnist, cifar10, cifar100 (NAME:DIR), folder:DIR, npy:DIR. */
  dataset: z.string(),
  dataDir: z.string().nullable(),
  /** Poison and train victims on the first n training images; null: all. */
  subset: posInt.nullable(),
  /** Evaluate victims on the first n test images; null: the whole test split. */
  testSubset: posInt.nullable(),
  seed: z.number().int().nonnegative(),
  /** Victims per condition (seeds seed+1, seed+2, ...); tables show mean +- sd over them. */
  runs: posInt,
  /** Torch device (e.g. "cuda"); null: the CPU. */
  device: z.string().nullable(),
  /** What crafting models and victims compute in: fp32, bf16 or auto (bf16 where the device has it natively). */
  precision: z.enum(["fp32", "bf16", "auto"]),
  /** Run directory: results.json, results.csv, summary.csv, report.html, releases/, crafters/. */
  out: z.string(),
  crafter: CrafterSchema,
  victim: VictimSchema,
  /** The full-scale preset that --full applies (a partial config); not validated until applied. */
  full: z.record(z.string(), z.unknown()).optional(),
};

/**
 * The methods experiment's block for each baseline with settings of its own: the settings are the methods
 * table's schema (its defaults included); error-min's and TensorClog's blocks add their PGD steps and step size
 * (a fraction of eps), which the adversarial poisons take from `poison`.
 */
export const METHOD_BLOCKS = { "error-min": "errorMin", tensorclog: "tensorclog", lsp: "lsp" } as const;

const PGD_FIELDS = { steps: posInt, tau: z.number().positive() };

const DefenseSettingsSchema = z.strictObject({
  /** PGD adversarial training: untargeted PGD against the current victim, every batch. eps null: the poison's. */
  adversarial: z.strictObject({ eps: eps.nullable(), steps: posInt, tau: z.number().positive() }),
  /** Side of the zeroed square as a fraction of the image side (DeVries & Taylor: 16 of 32 px). */
  cutout: z.strictObject({ fraction: z.number().gt(0).max(1) }),
  mixup: z.strictObject({ alpha: z.number().positive() }),
  cutmix: z.strictObject({ alpha: z.number().positive() }),
  jpeg: z.strictObject({ quality: z.number().int().min(1).max(100) }),
  /** Bit-depth reduction (ISS): bits kept per value, as torchvision's posterize. */
  bdr: z.strictObject({ bits: z.number().int().min(1).max(8) }),
  /** Standard deviation in grey levels; the result is clipped to [0, 1]. */
  noise: z.strictObject({ sigma: z.number().nonnegative() }),
});

const TransferVictimSchema = z.strictObject({
  model: z.string(),
  recipe: z.string().optional(),
  epochs: posInt.nullable().optional(),
  lr: z.number().positive().nullable().optional(),
  batchSize: posInt.nullable().optional(),
  /** Train on the first n images of the (poisoned or clean) training set; default: all of `subset`. */
  subset: posInt.nullable().optional(),
  /** Evaluate on the first n test images; default: the experiment's testSubset. */
  testSubset: posInt.nullable().optional(),
});

export const CONFIG_SCHEMAS = {
  methods: z.strictObject({
    ...common,
    poison: PoisonSchema,
    methods: z.array(z.enum(METHOD_CONDITIONS)).min(1),
    /** Huang et al.: 20 PGD steps of eps/10 per round. */
    errorMin: ERROR_MIN_SETTINGS.extend(PGD_FIELDS),
    tensorclog: TENSORCLOG_SETTINGS.extend(PGD_FIELDS),
    /** LSP's own settings (norm, patch size, class separation, mode); OPS has none. */
    lsp: LSP_SETTINGS,
  }),
  eps: z.strictObject({
    ...common,
    poison: PoisonSchema.omit({ eps: true }),
    /** The budgets compared, in grey levels. */
    eps: z.array(eps).min(1),
    cleanReference: z.boolean(),
  }),
  budget: z.strictObject({
    ...common,
    poison: PoisonSchema,
    /** Poisoned fractions of the training set; 0 is the clean data. */
    budgets: z.array(z.number().min(0).max(1)).min(1),
  }),
  transfer: z.strictObject({
    ...common,
    poison: PoisonSchema,
    /** Victim architectures; each entry overrides the common `victim` settings. */
    victims: z.array(TransferVictimSchema).min(1),
    cleanReference: z.boolean(),
  }),
  defenses: z.strictObject({
    ...common,
    poison: PoisonSchema,
    defenses: z.array(z.enum(DEFENSE_NAMES)).min(1),
    defense: DefenseSettingsSchema,
    cleanReference: z.boolean(),
  }),
  labels: z.strictObject({
    ...common,
    poison: PoisonSchema,
    /**
     * original: the release with its labels y; permuted: with the attack's target labels pi(y); predicted: with
     * the crafting model's own prediction on each poisoned image (the paper's "adversarial labels").
     */
    labels: z.array(z.enum(LABELINGS)).min(1),
    /** Budgets and PGD step counts swept (every pair is one release); empty: the poison's own eps and steps. */
    sweepEps: z.array(eps),
    sweepSteps: z.array(posInt),
    cleanReference: z.boolean(),
  }),
} as const;

export type ConfigOf<N extends ExperimentName> = z.infer<(typeof CONFIG_SCHEMAS)[N]>;
export type AnyConfig = { [N in ExperimentName]: ConfigOf<N> }[ExperimentName];
