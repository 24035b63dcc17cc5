// Experiment configurations: one zod schema per experiment, the scaled-down defaults that finish on 2 CPU
// cores (Fashion-MNIST), the full-scale preset of the paper (CIFAR-10, ResNet-18, 250 steps) and the merge
// of config file, preset and command-line overrides.
//
// Resolution, later wins: built-in defaults <- the config file (experiments/NAME.json, or --config FILE) <-
// with --full, the file's "full" block (or the built-in full preset) <- command-line flags <- --set PATH=JSON.
// Objects merge key by key, arrays and values replace. The result is validated strictly (unknown keys fail).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import {
  DIFF_AUGMENT_KINDS,
  ERROR_MIN_SETTINGS,
  LSP_SETTINGS,
  MAX_EPS,
  METHOD_NAMES,
  TENSORCLOG_SETTINGS,
} from "../poison/index.js";
import { DEFENSE_DEFAULTS, DEFENSE_NAMES } from "./defenses/index.js";

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

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

const SCALED = {
  dataset: "fashion-mnist",
  dataDir: null,
  subset: 5000,
  testSubset: null,
  seed: 0,
  runs: 2,
  device: null,
  precision: "fp32",
  crafter: { model: "smallcnn-bn", recipe: "fast", epochs: 2, subset: null, path: null },
  poison: {
    method: "targeted",
    eps: 16,
    steps: 40,
    tau: 0.1,
    init: "randn",
    restarts: 1,
    augment: true,
    augmentKind: "authors",
    chunkSize: 512,
  },
  // 15 epochs (585 steps on 5000 images): a victim first learns the clean features and only later the
  // poisons' (at 5 epochs, 195 steps, the targeted release above measured 75.2 % against 83.2 % clean; at 15, 49.1 %).
  victim: { model: "smallcnn-bn", recipe: "fast", epochs: 15, lr: null, batchSize: null },
} satisfies JsonObject;

/** The paper's scale (Fowl et al.: CIFAR-10, ResNet-18 crafter on the crafting recipe, 250 steps, eps 8). */
const FULL = {
  dataset: "cifar10",
  subset: null,
  testSubset: null,
  crafter: { model: "resnet18", recipe: "crafting", epochs: null, subset: null },
  poison: { eps: 8, steps: 250, tau: 0.05 },
  victim: { model: "resnet18", recipe: "victim", epochs: null },
} satisfies JsonObject;

function withFull(name: ExperimentName, extra: JsonObject): JsonObject {
  return { ...FULL, ...extra, out: `runs/experiment-${name}-full` };
}

/** The built-in configs; experiments/NAME.json holds the same (a test keeps them equal). */
export const DEFAULT_CONFIGS: Record<ExperimentName, JsonObject> = {
  methods: {
    experiment: "methods",
    ...SCALED,
    out: "runs/experiment-methods",
    methods: [...METHOD_CONDITIONS],
    errorMin: {
      model: "smallcnn-bn",
      mode: "sample",
      steps: 20,
      tau: 0.1,
      trainSteps: 10,
      maxRounds: 3,
      stopAcc: 0.99,
      batchSize: 128,
    },
    tensorclog: { steps: 20, tau: 0.05, batchSize: 128 },
    lsp: LSP_SETTINGS.parse({}),
    full: withFull("methods", {
      errorMin: { model: "resnet18", maxRounds: 10 },
      tensorclog: { steps: 100 },
    }),
  },
  eps: {
    experiment: "eps",
    ...SCALED,
    poison: omit(SCALED.poison, "eps"),
    out: "runs/experiment-eps",
    eps: [4, 8, 16, 24],
    cleanReference: true,
    full: withFull("eps", { poison: { steps: 250, tau: 0.05 }, eps: [4, 8, 16] }),
  },
  budget: {
    experiment: "budget",
    ...SCALED,
    out: "runs/experiment-budget",
    budgets: [0, 0.25, 0.5, 0.75, 1],
    full: withFull("budget", {}),
  },
  transfer: {
    experiment: "transfer",
    ...SCALED,
    out: "runs/experiment-transfer",
    // At 28x28 on one CPU core ResNet-18 trains ~19 images/s, VGG-11 ~70, SmallCNN ~1000 (measured): the
    // scaled default takes VGG-11 on 2000 images, ResNet-18 and the rest are left to --full.
    victims: [
      { model: "smallcnn-bn" },
      { model: "smallcnn" },
      { model: "vgg11", epochs: 6, subset: 2000, testSubset: 2000 },
    ],
    cleanReference: true,
    full: withFull("transfer", {
      victims: [
        { model: "resnet18" },
        { model: "vgg16" },
        { model: "googlenet" },
        { model: "mobilenetv2" },
        { model: "densenet121" },
        { model: "convnet" },
      ],
    }),
  },
  defenses: {
    experiment: "defenses",
    ...SCALED,
    out: "runs/experiment-defenses",
    defenses: [...DEFENSE_NAMES],
    // Adversarial training's eps: null, the poison's.
    defense: { ...DEFENSE_DEFAULTS, adversarial: { ...DEFENSE_DEFAULTS.adversarial, eps: null } },
    cleanReference: true,
    full: withFull("defenses", {}),
  },
  labels: {
    experiment: "labels",
    ...SCALED,
    out: "runs/experiment-labels",
    labels: ["original", "permuted", "predicted"],
    sweepEps: [16, 32, 64],
    sweepSteps: [40, 120],
    cleanReference: true,
    full: withFull("labels", {}),
  },
};

function omit(o: JsonObject, key: string): JsonObject {
  const { [key]: _, ...rest } = o;
  return rest;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** Objects merge key by key; anything else in `over` replaces. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isObject(base) || !isObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v);
  return out;
}

/** Sets `value` at a dotted path ("victim.epochs"), creating objects on the way. */
export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split(".");
  if (keys.some((k) => k === "" || FORBIDDEN_KEYS.includes(k))) throw new Error(`invalid config path '${path}'`);
  let o = target;
  for (const k of keys.slice(0, -1)) {
    if (!isObject(o[k])) o[k] = {};
    o = o[k] as Record<string, unknown>;
  }
  o[keys[keys.length - 1]!] = value;
}

/** `PATH=VALUE` of --set: VALUE is JSON when it parses, else a string. */
export function parseSet(text: string): { path: string; value: unknown } {
  const eq = text.indexOf("=");
  if (eq < 1) throw new Error(`--set expects PATH=VALUE (e.g. victim.epochs=3), got '${text}'`);
  const raw = text.slice(eq + 1);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    value = raw;
  }
  return { path: text.slice(0, eq), value };
}

/** Where the shipped config files live: experiments/ at the package root. */
export function packageConfigPath(name: ExperimentName): string {
  return join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "experiments", `${name}.json`);
}

export function readConfigFile(path: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf-8"));
  } catch (e) {
    throw new Error(`${path}: not a readable JSON config (${(e as Error).message})`);
  }
  if (!isObject(parsed)) throw new Error(`${path}: a config must be a JSON object`);
  const bad = forbiddenKeyPath(parsed);
  if (bad !== undefined) throw new Error(`${path}: forbidden key '${bad.at(-1)}' at ${bad.join(".")} in the config`);
  return parsed;
}

/**
 * Keys that would reach an object's prototype when merged (JSON.parse makes "__proto__" an own key, and
 * deepMerge's assignment would then replace the merged object's prototype).
 */
const FORBIDDEN_KEYS = ["__proto__", "constructor", "prototype"];

/** The path of the first forbidden key anywhere in `value`, if there is one. */
function forbiddenKeyPath(value: unknown, at: string[] = []): string[] | undefined {
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const found = forbiddenKeyPath(v, [...at, String(i)]);
      if (found) return found;
    }
  } else if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (FORBIDDEN_KEYS.includes(k)) return [...at, k];
      const found = forbiddenKeyPath(v, [...at, k]);
      if (found) return found;
    }
  }
  return undefined;
}

/** A config written when the poison's `method` was called `recipe` (advpoison < 0.2), under today's key. */
function withMethodKey(config: Record<string, unknown>): Record<string, unknown> {
  const poison = config.poison;
  if (!isObject(poison) || !("recipe" in poison) || "method" in poison) return config;
  const { recipe, ...rest } = poison;
  return { ...config, poison: { ...rest, method: recipe } };
}

export interface ResolveOptions {
  /** A config file; default experiments/NAME.json in the working directory, else the package's. */
  configFile?: string;
  full?: boolean;
  /** Overrides from flags, as a partial config. */
  overrides?: Record<string, unknown>;
  /** --set PATH=VALUE, applied last. */
  sets?: readonly string[];
}

export interface ResolvedConfig<N extends ExperimentName = ExperimentName> {
  config: ConfigOf<N>;
  /** "scaled-down" (the CPU defaults), "full" (the paper's preset), with "+ overrides" when changed. */
  scale: string;
  /** The config file read, if any. */
  file: string | null;
}

function formatIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join(".") || "(config)"}: ${i.message}`).join("; ");
}

/** Validates a complete config for `name`, with every problem in one message. */
export function validateConfig<N extends ExperimentName>(name: N, raw: unknown, where = "config"): ConfigOf<N> {
  const r = CONFIG_SCHEMAS[name].safeParse(raw);
  if (!r.success) throw new Error(`${where}: invalid ${name} config: ${formatIssues(r.error)}`);
  const c = r.data as ConfigOf<N>;
  if (c.experiment !== name) throw new Error(`${where}: a config for '${c.experiment}', not '${name}'`);
  return c;
}

export function resolveConfig<N extends ExperimentName>(name: N, o: ResolveOptions = {}): ResolvedConfig<N> {
  if (!(EXPERIMENT_NAMES as readonly string[]).includes(name))
    throw new Error(`unknown experiment '${name}' (${EXPERIMENT_NAMES.join(", ")})`);
  const candidates = o.configFile ? [o.configFile] : [join("experiments", `${name}.json`), packageConfigPath(name)];
  const file = candidates.find((p) => existsSync(p)) ?? null;
  if (o.configFile && !file) throw new Error(`config file ${o.configFile} not found`);
  const fromFile = file ? withMethodKey(readConfigFile(file)) : {};
  let raw = deepMerge(DEFAULT_CONFIGS[name], fromFile) as Record<string, unknown>;
  if (o.full) {
    const preset = raw.full;
    if (!isObject(preset)) throw new Error(`the ${name} config has no "full" preset`);
    raw = deepMerge(raw, preset) as Record<string, unknown>;
  }
  const hasOverrides = Object.keys(o.overrides ?? {}).length > 0 || (o.sets?.length ?? 0) > 0;
  raw = deepMerge(raw, o.overrides ?? {}) as Record<string, unknown>;
  for (const s of o.sets ?? []) {
    const { path, value } = parseSet(s);
    setPath(raw, path, value);
  }
  const config = validateConfig(name, raw, file ?? "built-in config");
  const scale = `${o.full ? "full" : "scaled-down"}${hasOverrides ? " + overrides" : ""}`;
  return { config, scale, file };
}
