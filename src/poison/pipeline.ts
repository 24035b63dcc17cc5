// The one crafting pipeline, used by `advpoison craft`, the demo and the experiments alike:
//   makePlan (what to craft) -> obtainCrafter (the crafting models) -> craftRelease (chunk store -> craft ->
//   release -> clean up).
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import type { Dataset, OutputFormat } from "../data/index.js";
import { channelMeans } from "../data/index.js";
import { type LoadedModel, type ModelInfo, prepareForCrafting, saveModel } from "../models/index.js";
import { type Precision, type PrecisionChoice, resolvePrecision, secondOrderError } from "../torch/index.js";
import { fit, type Progress, type Recipe, silentProgress } from "../train/index.js";
import { assertReplaceable, removeOwned } from "../util/ownership.js";
import { checkEps, planEps } from "./budget.js";
import { ChunkStore } from "./chunk-store.js";
import { craftShard } from "./craft.js";
import type { CraftRunStats } from "./craft-run.js";
import { readCrafter } from "./crafters.js";
import { DEFAULT_DIFF_AUGMENT_KIND, DIFF_AUGMENT_KINDS, type DiffAugmentKind, diffAugmentOf } from "./diff-augment.js";
import { budgetOf, methodOf, methodSettings, type PoisonMethod } from "./methods/index.js";
import { shiftPermutation } from "./permutation.js";
import type { Init } from "./pgd.js";
import { type CrafterRef, type CraftPlan, planAugment, planMethod, precisionOf } from "./plan.js";
import { type Manifest, writeRelease } from "./release.js";

const INITS: readonly Init[] = ["randn", "uniform", "zero"];

/** What to craft; everything left out takes the method's defaults. Budgets and steps in grey levels. */
export interface PlanRequest {
  method: string;
  /** Ignored by methods with an L0 budget (their plans record 255). */
  eps: number;
  steps?: number;
  /** Step size as a fraction of eps (the method's own by default); `stepSize` overrides it. */
  tau?: number;
  stepSize?: number;
  init?: Init;
  restarts?: number;
  /** Differentiable augmentation inside the attack, for the methods that use it (on by default). */
  augment?: boolean;
  /** Which: the authors' RandomTransform (default) or the quarter-side shift of advpoison before 0.2. */
  augmentKind?: DiffAugmentKind;
  chunkSize?: number;
  budget?: number;
  seed?: number;
  /** pi for class-targeted poisons; y -> y + 1 mod C by default. */
  permutation?: number[];
  /** The method's own settings (its schema fills in the rest). */
  settings?: Record<string, unknown>;
  /** The architecture a method that trains its own model uses (error-min). */
  crafterModel?: string;
  /** What the crafting models' forward passes compute in (resolved: see resolvePrecision). */
  precision?: Precision;
  dataset: { spec: string; dataDir: string | null; subset: number | null };
}

/** Checks a request against its method, without data: the errors a command should give before any work. */
export function checkRequest(req: Omit<PlanRequest, "dataset">, crafters: number): PoisonMethod {
  const method = methodOf(req.method);
  const settings = { ...req.settings, ...ownModelSetting(method, req.crafterModel) };
  if (budgetOf(method, settings) !== "l0") checkEps(req.eps);
  if (req.augmentKind !== undefined && !DIFF_AUGMENT_KINDS.includes(req.augmentKind))
    throw new Error(`augmentation must be ${DIFF_AUGMENT_KINDS.join(" or ")}, got '${req.augmentKind}'`);
  if (req.init !== undefined && !INITS.includes(req.init))
    throw new Error(`init must be ${INITS.join(", ")}, got '${req.init}'`);
  if (!method.restartable && (req.restarts ?? 1) !== 1)
    throw new Error(
      `${method.name} has no restarts (${method.ownModel ? "its noise is warm-started every round" : "no attack to restart"})`,
    );
  if ((req.precision ?? "fp32") !== "fp32" && !runsModel(method))
    throw new Error(`${method.name} runs no model, so it has no precision to choose; leave --precision fp32`);
  if (method.ownModel && crafters > 0)
    throw new Error(
      `${method.name} trains its own model from scratch; name its architecture with --crafter-model instead of --crafter/--train-crafter`,
    );
  return method;
}

/**
 * Refuses a precision in which `device` cannot run `method`: a method that differentiates the crafting model's
 * parameter gradient (TensorClog) needs a double backward, which libtorch's CPU bf16 convolutions lack.
 */
export function checkRuntime(method: PoisonMethod, precision: Precision, device: string | undefined): void {
  if (!method.secondOrder) return;
  const why = secondOrderError(precision, device);
  if (why)
    throw new Error(
      `${method.name} differentiates the crafting model's parameter gradient, which ${precision} on ${device ?? "cpu"} cannot (libtorch: ${why}); use --precision fp32`,
    );
}

/** Whether `method` runs a model at all: crafting models, or one it trains itself (error-min). */
export const runsModel = (method: PoisonMethod): boolean => method.needsCrafter || method.ownModel;

/**
 * The precision `method` crafts in on `device` when `choice` was asked for: fp32 for methods that run no model
 * (unless bf16 was asked explicitly, which checkRequest then refuses); else resolved (resolvePrecision), where
 * "auto" falls back to fp32 if the device cannot run the method in bf16 and an explicit bf16 is refused
 * (checkRuntime).
 */
export function craftingPrecision(
  method: PoisonMethod,
  choice: PrecisionChoice,
  device: string | undefined,
): Precision {
  if (!runsModel(method) && choice !== "bf16") return "fp32";
  const resolved = resolvePrecision(choice, device);
  if (choice === "auto" && method.secondOrder && secondOrderError(resolved, device)) return "fp32";
  checkRuntime(method, resolved, device);
  return resolved;
}

const ownModelSetting = (method: PoisonMethod, model: string | undefined) =>
  method.ownModel && model !== undefined ? { model } : {};

/** The plan for `req` on `trainSet` against `crafters` (their files' identities): everything a release depends on. */
export function makePlan(req: PlanRequest, trainSet: Dataset, crafters: readonly CrafterRef[]): CraftPlan {
  const method = checkRequest(req, crafters.length);
  if (method.needsCrafter && crafters.length === 0) throw new Error(`${method.name} needs a crafting model`);
  const extra = methodSettings(method, { ...req.settings, ...ownModelSetting(method, req.crafterModel) });
  const eps = planEps(method.budget(extra), req.eps);
  return {
    recipe: method.name,
    eps,
    steps: req.steps ?? method.defaults.steps,
    stepSize: req.stepSize ?? (req.tau ?? method.defaults.tau) * eps,
    init: req.init ?? method.defaults.init,
    restarts: req.restarts ?? 1,
    augment:
      (req.augment ?? true) && method.augments
        ? planAugment(
            diffAugmentOf(req.augmentKind ?? DEFAULT_DIFF_AUGMENT_KIND, trainSet.height, channelMeans(trainSet)),
          )
        : null,
    chunkSize: req.chunkSize ?? 512,
    budget: req.budget ?? 1,
    seed: req.seed ?? 0,
    permutation: req.permutation ?? shiftPermutation(trainSet.numClasses),
    dataset: {
      ...req.dataset,
      count: trainSet.count,
      shape: [trainSet.height, trainSet.width, trainSet.channels],
    },
    crafters: [...crafters],
    ...(req.precision === "bf16" ? { precision: "bf16" as const } : {}),
    extra: extra as CraftPlan["extra"],
  };
}

export interface CrafterRequest {
  /** The data shape the models must fit. */
  shape: Omit<ModelInfo, "model">;
  /** Existing crafting model files (an ensemble when several). */
  files?: readonly string[];
  /** Architecture: of files without metadata, and of a model trained here. */
  model?: string;
  /** Train one unless `path` exists (then it is loaded: a resumed run crafts against the same model). */
  train?: {
    path: string;
    data: Dataset;
    recipe: Recipe;
    seed: number;
    /** How the plan names the trained model's file (its identity is its sha256); the path by default. */
    name?: string;
    /** Checkpoint every epoch beside `path` and resume from it. */
    resumable?: boolean;
  };
  device?: string;
  progress?: Progress;
}

export interface Crafters {
  models: LoadedModel[];
  refs: CrafterRef[];
  /** Whether a model was trained in this call, and how long that took. */
  trained: boolean;
  seconds: number;
}

/** The crafting models: the given files, or one trained (once) into `train.path`. */
export async function obtainCrafter(req: CrafterRequest): Promise<Crafters> {
  const device = req.device ?? "cpu";
  const files = req.files ?? [];
  const onDevice = (m: LoadedModel) => {
    m.model.to(device);
    return m;
  };
  if (files.length > 0) {
    const models = files.map((path) => onDevice(readCrafter({ path, model: req.model }, req.shape)));
    return {
      models,
      refs: models.map((m, k) => ({ path: files[k]!, model: m.info.model, sha256: m.sha256 })),
      trained: false,
      seconds: 0,
    };
  }
  const t = req.train;
  if (!t) throw new Error("give a crafting model with --crafter FILE, or --train-crafter to train one");
  const t0 = performance.now();
  const trained = !existsSync(t.path);
  if (trained) {
    const name = req.model ?? "smallcnn-bn";
    mkdirSync(dirname(t.path), { recursive: true });
    const checkpoint = `${t.path}.checkpoint`;
    const { model } = await fit(name, t.data, {
      recipe: t.recipe,
      seed: t.seed,
      progress: req.progress ?? silentProgress,
      label: "crafting model",
      device,
      ...(t.resumable ? { checkpoint, resume: true } : {}),
    });
    saveModel(t.path, model, { model: name, ...req.shape });
    model.dispose();
    rmSync(checkpoint, { force: true });
  }
  const m = onDevice(readCrafter({ path: t.path }, {}));
  return {
    models: [m],
    refs: [{ path: t.name ?? t.path, model: m.info.model, sha256: m.sha256 }],
    trained,
    seconds: (performance.now() - t0) / 1000,
  };
}

export interface ReleaseJob {
  plan: CraftPlan;
  /** The training set the plan was made for, and the clean test split shipped beside the release. */
  source: Dataset;
  test?: Dataset;
  /** The crafting models (frozen copies in the plan's precision are made here); none for methods that need none. */
  models: readonly LoadedModel[];
  out: string;
  /** Finished chunks; `OUT.work` by default (with a shard: this shard's own directory). */
  workDir?: string;
  format?: OutputFormat;
  force?: boolean;
  /** Craft only share i of n, and write no release (`advpoison merge` joins the shards). */
  shard?: { index: number; count: number };
  progress?: Progress;
  device?: string;
}

export interface ReleaseResult {
  /** Absent for a shard. */
  manifest?: Manifest;
  stats: CraftRunStats;
  workDir: string;
}

/** Where a release's finished chunks wait: OUT.work beside it. */
export const workDirOf = (out: string): string => `${out.replace(/\/+$/, "")}.work`;

/**
 * A release is never written over without `force`, nor over anything advpoison did not write (a shard writes
 * only its work directory): checked before hours of crafting, and again by the release writer.
 */
export function checkOutput(out: string, force: boolean, shard: boolean): void {
  if (shard) return;
  if (existsSync(out) && !force) throw new Error(`${out} exists; pass --force to replace it`);
  assertReplaceable(out, "release");
}

/** Crafts the plan's poisons (resuming finished chunks) and writes the release, then removes the work directory. */
export async function craftRelease(job: ReleaseJob): Promise<ReleaseResult> {
  const { plan } = job;
  const method = methodOf(planMethod(plan));
  if (job.shard && !method.chunked)
    throw new Error(`${method.name} cannot be sharded: it optimises all poisoned images together`);
  checkOutput(job.out, job.force ?? false, job.shard !== undefined);
  const options = { progress: job.progress ?? silentProgress, device: job.device ?? "cpu" };
  checkRuntime(method, precisionOf(plan), options.device); // before the work directory is made
  // Before the work directory is made: a crafting model that cannot be used leaves nothing behind.
  const frozen = job.models.map(({ model }) =>
    prepareForCrafting(model, { precision: precisionOf(plan), device: options.device }),
  );
  const workDir = job.workDir ?? workDirOf(job.out);
  let store: ChunkStore;
  let stats: CraftRunStats;
  try {
    store = ChunkStore.open(workDir, plan);
    stats = method.chunked
      ? await craftShard(job.source, plan, frozen, store, job.shard ? { ...options, shard: job.shard } : options)
      : await method.craftAll(job.source, plan, methodSettings(method, plan.extra), store, options);
  } finally {
    for (const m of frozen) m.dispose();
  }
  if (job.shard) return { stats, workDir };
  const manifest = writeRelease(job.source, [store], job.out, {
    format: job.format ?? "same",
    force: job.force ?? false,
    test: job.test,
  });
  removeOwned(workDir, "crafting work directory");
  return { manifest, stats, workDir };
}
