// `advpoison craft`: crafts a poisoned release of a training set (resumable, shardable), and
// `advpoison merge`: joins the shards of one plan into a release.
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type Command, InvalidArgumentError } from "commander";
import type { Dataset, OutputFormat } from "../data/index.js";
import { createModel, type LoadedModel, loadModel, saveModel } from "../models/index.js";
import type { Module } from "../nn/index.js";
import {
  ChunkStore,
  type CraftPlan,
  type CraftRunStats,
  checkEps,
  craftErrorMin,
  craftShard,
  ERROR_MIN_DEFAULTS,
  type ErrorMinMode,
  POISON_RECIPES,
  type PoisonRecipe,
  parseShard,
  readPermutation,
  SUCCESS_MEANS,
  shiftPermutation,
  TENSORCLOG_BATCH_SIZE,
  writeRelease,
} from "../poison/index.js";
import { enqueueCraft, formatStatus } from "../queue/index.js";
import { manualSeed } from "../torch/index.js";
import { recipe, train } from "../train/index.js";
import {
  action,
  addDataOptions,
  addDeviceOption,
  collect,
  type DataOptions,
  fraction,
  loadData,
  nonNegativeInt,
  onDevice,
  positiveInt,
  positiveNumber,
  printJson,
  resolveDevice,
} from "./common.js";
import { terminalProgress } from "./progress.js";

interface CraftCliOptions extends DataOptions {
  recipe: PoisonRecipe;
  eps: number;
  steps?: number;
  tau?: number;
  stepSize?: number;
  init?: CraftPlan["init"];
  restarts: number;
  augment: boolean;
  chunkSize: number;
  budget: number;
  seed: number;
  permutation?: string;
  crafter: string[];
  crafterModel?: string;
  trainCrafter?: boolean;
  crafterRecipe: string;
  crafterEpochs?: number;
  out: string;
  format: OutputFormat;
  force?: boolean;
  resume?: boolean;
  shard?: string;
  json?: boolean;
  emMode: ErrorMinMode;
  emTrainSteps: number;
  emMaxRounds: number;
  emStopAcc: number;
  emBatchSize: number;
  tcBatchSize: number;
  device: string;
  queue?: string;
  run?: string;
  shared?: string;
}

/** Recipes that craft against trained --crafter models (error-min trains its own, from scratch). */
const NEEDS_MODEL: readonly PoisonRecipe[] = ["targeted", "untargeted", "tensorclog"];
/** Recipes with differentiable augmentation inside the attack (Fowl et al.); the baselines run as published. */
const AUGMENTED: readonly PoisonRecipe[] = ["targeted", "untargeted"];
/** Architecture of error-min's model when --crafter-model is not given. */
const ERROR_MIN_MODEL = "smallcnn-bn";

/** PGD defaults per recipe: Fowl et al.'s 250 steps of 0.05 eps; Huang et al.'s 20 of eps/10 per round. */
const PGD_DEFAULTS: Record<PoisonRecipe, { steps: number; tau: number; init: CraftPlan["init"] }> = {
  targeted: { steps: 250, tau: 0.05, init: "randn" },
  untargeted: { steps: 250, tau: 0.05, init: "randn" },
  random: { steps: 250, tau: 0.05, init: "randn" },
  "error-min": { steps: 20, tau: 0.1, init: "uniform" },
  tensorclog: { steps: 100, tau: 0.05, init: "zero" },
};

async function crafters(
  o: CraftCliOptions,
  trainSet: Dataset,
  workDir: string,
  device: string | undefined,
): Promise<LoadedModel[]> {
  if (!NEEDS_MODEL.includes(o.recipe)) return [];
  const shape = { inChannels: trainSet.channels, numClasses: trainSet.numClasses, imageSize: trainSet.height };
  if (o.crafter.length > 0) {
    return o.crafter.map((path) => loadModel(path, { ...shape, ...(o.crafterModel ? { model: o.crafterModel } : {}) }));
  }
  if (!o.trainCrafter) throw new Error("give a crafting model with --crafter FILE, or --train-crafter to train one");
  // Trained once into the work directory, so that a resumed run crafts against the same model.
  const path = join(workDir, "crafter.safetensors");
  const name = o.crafterModel ?? "smallcnn-bn";
  if (!existsSync(path)) {
    mkdirSync(workDir, { recursive: true });
    manualSeed(o.seed);
    const model = createModel(name, shape);
    if (device) model.to(device);
    const r = recipe(o.crafterRecipe, o.crafterEpochs ? { epochs: o.crafterEpochs } : {});
    await train(model, trainSet, {
      recipe: r,
      seed: o.seed,
      progress: terminalProgress(),
      label: "crafting model",
      ...onDevice(device),
    });
    saveModel(path, model, { model: name, ...shape });
    model.dispose();
  }
  return [loadModel(path)];
}

function planOf(o: CraftCliOptions, trainSet: Dataset, models: LoadedModel[]): CraftPlan {
  const eps = checkEps(o.eps);
  const augment = o.augment && AUGMENTED.includes(o.recipe) ? { maxShift: 0.25, flip: true } : null;
  const defaults = PGD_DEFAULTS[o.recipe];
  return {
    recipe: o.recipe,
    eps,
    steps: o.steps ?? defaults.steps,
    stepSize: o.stepSize ?? (o.tau ?? defaults.tau) * eps,
    init: o.init ?? defaults.init,
    restarts: o.restarts,
    augment,
    chunkSize: o.chunkSize,
    budget: o.budget,
    seed: o.seed,
    permutation: o.permutation
      ? readPermutation(o.permutation, trainSet.numClasses)
      : shiftPermutation(trainSet.numClasses),
    dataset: {
      spec: o.dataset,
      dataDir: o.dataDir ?? null,
      subset: o.subset ?? null,
      count: trainSet.count,
      shape: [trainSet.height, trainSet.width, trainSet.channels],
    },
    crafters: models.map((m, k) => ({ path: o.crafter[k] ?? "trained", model: m.info.model, sha256: m.sha256 })),
    extra: extraOf(o),
  };
}

/** The recipe's own settings, recorded in the plan (and so covered by its digest). */
function extraOf(o: CraftCliOptions): CraftPlan["extra"] {
  switch (o.recipe) {
    case "error-min":
      return {
        model: o.crafterModel ?? ERROR_MIN_MODEL,
        mode: o.emMode,
        trainSteps: o.emTrainSteps,
        maxRounds: o.emMaxRounds,
        stopAcc: o.emStopAcc,
        batchSize: o.emBatchSize,
        lr: ERROR_MIN_DEFAULTS.lr,
        momentum: ERROR_MIN_DEFAULTS.momentum,
        weightDecay: ERROR_MIN_DEFAULTS.weightDecay,
      };
    case "tensorclog":
      return { batchSize: o.tcBatchSize };
    default:
      return {};
  }
}

function unitInterval(v: string): number {
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError(`expected a number in [0, 1], got '${v}'`);
  return n;
}

function freeze(models: LoadedModel[]): Module[] {
  return models.map(({ model }) => model.eval().requiresGrad_(false));
}

export function registerCraft(program: Command): void {
  const cmd = program
    .command("craft")
    .description("craft a poisoned release of a training set (Fowl et al. 2021 and baselines)")
    .option("--recipe <name>", `poison: ${POISON_RECIPES.join(", ")}`, "targeted")
    .option("--eps <levels>", "L-inf budget in grey levels (8 means 8/255)", positiveNumber, 8)
    .option(
      "--steps <n>",
      "PGD iterations (default 250, the paper's; error-min: 20 per round; tensorclog: 100)",
      positiveInt,
    )
    .option(
      "--tau <x>",
      "step size as a fraction of eps (default 0.05, the authors' code, see README; error-min: 0.1)",
      positiveNumber,
    )
    .option("--step-size <levels>", "absolute step size in grey levels (overrides --tau)", positiveNumber)
    .option(
      "--init <kind>",
      "perturbation init: randn (default, the authors'), uniform (error-min's), zero (tensorclog's)",
    )
    .option("--restarts <n>", "PGD restarts; each image keeps its best (not error-min)", positiveInt, 1)
    .option("--no-augment", "no differentiable shift+flip inside the attack (targeted/untargeted; baselines have none)")
    .option("--chunk-size <n>", "images crafted together (also the unit of resume and sharding)", positiveInt, 512)
    .option("--budget <fraction>", "fraction of the training set to poison (seeded random subset)", fraction, 1)
    .option("--seed <n>", "random seed", nonNegativeInt, 0)
    .option("--permutation <file>", "JSON array pi for targeted poisons (default y -> y+1 mod C)")
    .option("--crafter <file>", "crafting model (.safetensors); repeat for an ensemble", collect, [])
    .option(
      "--crafter-model <name>",
      `architecture of --crafter files without metadata, of --train-crafter, or of error-min's model (${ERROR_MIN_MODEL})`,
    )
    .option("--train-crafter", "train the crafting model first")
    .option("--crafter-recipe <name>", "training recipe for --train-crafter", "fast")
    .option("--crafter-epochs <n>", "epochs for --train-crafter", positiveInt)
    .requiredOption("--out <dir>", "release directory (with --shard: this shard's work directory)")
    .option("--format <f>", "release format: same (as the source), folder (PNG), npy", "same")
    .option("--force", "replace an existing release")
    .option("--resume", "continue an interrupted run (finished chunks are kept either way)")
    .option("--shard <i/n>", "craft only share i of n (then `advpoison merge`)")
    .option("--json", "print one JSON result as the last line")
    .option("--em-mode <mode>", "error-min noise: sample (one per image) or class (one per class)", "sample")
    .option(
      "--em-train-steps <n>",
      "error-min: model training steps per round",
      positiveInt,
      ERROR_MIN_DEFAULTS.trainSteps,
    )
    .option("--em-max-rounds <n>", "error-min: most train+noise rounds", positiveInt, ERROR_MIN_DEFAULTS.maxRounds)
    .option(
      "--em-stop-acc <x>",
      "error-min: stop once the model's accuracy on x + delta exceeds this",
      unitInterval,
      ERROR_MIN_DEFAULTS.stopAcc,
    )
    .option("--em-batch-size <n>", "error-min: the model's mini-batch size", positiveInt, ERROR_MIN_DEFAULTS.batchSize)
    .option(
      "--tc-batch-size <n>",
      "tensorclog: images per parameter gradient (a victim's mini-batch)",
      positiveInt,
      TENSORCLOG_BATCH_SIZE,
    )
    .option("--queue <url>", "enqueue the chunks on redis://HOST:PORT[/DB] for `advpoison worker`s, and return")
    .option("--run <name>", "with --queue: the run's name")
    .option("--shared <dir>", "with --queue: a directory every worker reads and writes (the run's files)");
  addDeviceOption(addDataOptions(cmd)).action(
    action(async (o: CraftCliOptions) => {
      if (!(POISON_RECIPES as readonly string[]).includes(o.recipe)) {
        throw new Error(`unknown recipe '${o.recipe}' (${POISON_RECIPES.join(", ")})`);
      }
      checkEps(o.eps);
      if (o.init !== undefined && !["randn", "uniform", "zero"].includes(o.init))
        throw new Error(`--init must be randn, uniform or zero, got '${o.init}'`);
      if (!["sample", "class"].includes(o.emMode))
        throw new Error(`--em-mode must be sample or class, got '${o.emMode}'`);
      if (o.recipe === "error-min") {
        // The min-min alternation runs over the whole poisoned set at once.
        if (o.shard) throw new Error("error-min cannot be sharded: it optimises all poisoned images together");
        if (o.crafter.length > 0 || o.trainCrafter) {
          throw new Error(
            "error-min trains its own model from scratch; name its architecture with --crafter-model " +
              "instead of --crafter/--train-crafter",
          );
        }
        if (o.restarts !== 1) throw new Error("error-min has no restarts (its noise is warm-started every round)");
      }
      if (!["same", "folder", "npy"].includes(o.format))
        throw new Error(`--format must be same, folder or npy, got '${o.format}'`);
      if (!o.shard && existsSync(o.out) && !o.force) throw new Error(`${o.out} exists; pass --force to replace it`);
      const device = resolveDevice(o.device);
      const t0 = performance.now();
      const { train: trainSet, test } = loadData(o);
      const workDir = o.shard ? o.out : `${o.out.replace(/\/+$/, "")}.work`;
      const models = await crafters(o, trainSet, workDir, device);
      if (device) for (const m of models) m.model.to(device);
      const plan = planOf(o, trainSet, models);
      if (o.queue) {
        for (const m of models) m.model.dispose();
        const trained = join(workDir, "crafter.safetensors");
        const crafterFiles = plan.crafters.map((_, k) => o.crafter[k] ?? trained);
        const status = await enqueueCraft({ ...o, queue: o.queue, force: o.force ?? false, plan, crafterFiles });
        console.log(formatStatus(status));
        if (o.json) printJson({ ...status });
        return;
      }
      const store = ChunkStore.open(workDir, plan);
      const stats: CraftRunStats =
        plan.recipe === "error-min"
          ? await craftErrorMin(trainSet, plan, String(plan.extra.model), store, {
              progress: terminalProgress(),
              ...onDevice(device),
            })
          : await craftShard(trainSet, plan, freeze(models), store, {
              progress: terminalProgress(),
              ...onDevice(device),
              ...(o.shard ? { shard: parseShard(o.shard) } : {}),
            });
      for (const m of models) m.model.dispose();
      const seconds = (performance.now() - t0) / 1000;
      if (o.shard) {
        console.log(
          `shard ${o.shard} done: ${stats.imagesCrafted} images crafted; merge the shards with \`advpoison merge\``,
        );
        if (o.json) printJson({ shard: o.shard, work_dir: workDir, crafted: stats.imagesCrafted, seconds });
        return;
      }
      const manifest = writeRelease(trainSet, [store], o.out, { format: o.format, force: o.force ?? false, test });
      rmSync(workDir, { recursive: true, force: true });
      const s = manifest.summary;
      console.log(
        `release: ${o.out} (${s.poisoned}/${s.count} images poisoned, max L-inf ${s.max_linf}/255, ` +
          `${(100 * s.attack_success).toFixed(1)}% ${SUCCESS_MEANS[plan.recipe].long}, ${seconds.toFixed(1)} s)`,
      );
      if (o.json) {
        printJson({
          release: o.out,
          spec: manifest.release.spec,
          count: s.count,
          poisoned: s.poisoned,
          max_linf: s.max_linf,
          attack_success: s.attack_success,
          seconds,
        });
      }
    }),
  );

  program
    .command("merge")
    .description("join the shards of one crafting plan into a release")
    .argument("<shards...>", "shard work directories (the --out of each `craft --shard`)")
    .requiredOption("--out <dir>", "release directory")
    .option("--format <f>", "release format: same, folder, npy", "same")
    .option("--force", "replace an existing release")
    .option("--json", "print one JSON result as the last line")
    .action(
      action((shards: string[], o: { out: string; format: OutputFormat; force?: boolean; json?: boolean }) => {
        const stores = shards.map((d) => ChunkStore.read(d));
        const plan = stores[0]!.plan;
        const { train: trainSet, test } = loadData({
          dataset: plan.dataset.spec,
          ...(plan.dataset.dataDir ? { dataDir: plan.dataset.dataDir } : {}),
          ...(plan.dataset.subset ? { subset: plan.dataset.subset } : {}),
        });
        const manifest = writeRelease(trainSet, stores, o.out, { format: o.format, force: o.force ?? false, test });
        console.log(`release: ${o.out} (${manifest.summary.poisoned}/${manifest.summary.count} images poisoned)`);
        if (o.json)
          printJson({
            release: o.out,
            count: manifest.summary.count,
            poisoned: manifest.summary.poisoned,
            max_linf: manifest.summary.max_linf,
          });
      }),
    );
}
