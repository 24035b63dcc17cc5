// `advpoison craft`: crafts a poisoned release of a training set (resumable, shardable), and
// `advpoison merge`: joins the shards of one plan into a release. Both parse, call the pipeline and print.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import type { OutputFormat } from "../data/index.js";
import {
  ChunkStore,
  CRAFTER_FILE,
  checkOutput,
  checkRequest,
  craftingPrecision,
  craftRelease,
  type DiffAugmentKind,
  type Init,
  METHOD_NAMES,
  METHODS,
  makePlan,
  methodOf,
  obtainCrafter,
  type PlanRequest,
  type PoisonMethod,
  parseShard,
  planDatasets,
  readPermutation,
  workDirOf,
  writeRelease,
} from "../poison/index.js";
import { enqueueCraft, formatStatus } from "../queue/index.js";
import type { PrecisionChoice } from "../torch/index.js";
import { recipe, specOf } from "../train/index.js";
import { removeOwned } from "../util/ownership.js";
import {
  action,
  addDataOptions,
  addDeviceOption,
  addPrecisionOption,
  collect,
  type DataOptions,
  fraction,
  loadData,
  nonNegativeInt,
  positiveInt,
  positiveNumber,
  printJson,
  resolveDevice,
} from "./common.js";
import { terminalProgress } from "./progress.js";

interface CraftCliOptions extends DataOptions {
  method?: string;
  recipe?: string;
  eps: number;
  steps?: number;
  tau?: number;
  stepSize?: number;
  init?: Init;
  restarts: number;
  augment: boolean;
  augmentKind?: DiffAugmentKind;
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
  device: string;
  precision: PrecisionChoice;
  queue?: string;
  run?: string;
  shared?: string;
  [flag: string]: unknown;
}

const FORMATS: readonly OutputFormat[] = ["same", "folder", "npy"];

/** Commander's property name of a flag: "--em-mode <mode>" -> "emMode". */
const propertyOf = (flags: string) =>
  flags
    .split(/[ ,]/)[0]!
    .replace(/^--/, "")
    .replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** Every method's flags, each once (methods may share one, as targeted and untargeted share --views). */
const METHOD_FLAGS = [
  ...new Map(Object.values(METHODS).flatMap((m) => m.flags.map((f) => [f.flags, f] as const))).values(),
];

/** The method's own settings from its flags; another method's flag is an error, not silently ignored. */
function methodSettingsOf(method: PoisonMethod, o: CraftCliOptions): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  for (const f of METHOD_FLAGS) {
    const value = o[propertyOf(f.flags)];
    if (value === undefined) continue;
    const own = method.flags.find((g) => g.flags === f.flags);
    if (!own) {
      const owners = Object.values(METHODS).filter((m) => m.flags.some((g) => g.flags === f.flags));
      throw new Error(`${f.flags.split(" ")[0]} applies to --method ${owners.map((m) => m.name).join(" or ")} only`);
    }
    settings[own.key] = own.parse ? own.parse(String(value)) : value;
  }
  return settings;
}

/** The method: --method, or --recipe (its older name, kept as an alias). */
function methodName(o: CraftCliOptions): string {
  if (o.method !== undefined && o.recipe !== undefined && o.method !== o.recipe)
    throw new Error(`--method ${o.method} and --recipe ${o.recipe} disagree (--recipe is the old name of --method)`);
  if (o.recipe !== undefined && o.method === undefined)
    console.error("advpoison: note: --recipe is now --method (a training schedule is a recipe); --recipe still works");
  return o.method ?? o.recipe ?? "targeted";
}

export function registerCraft(program: Command): void {
  const cmd = program
    .command("craft")
    .description("craft a poisoned release of a training set (Fowl et al. 2021 and baselines)")
    .option(
      "--method <name>",
      `poison method: ${METHOD_NAMES.map((n) => `${n} (${METHODS[n]!.citation})`).join(", ")}; default targeted`,
    )
    .option("--recipe <name>", "old name of --method (kept as an alias)")
    .option("--eps <levels>", "L-inf budget in grey levels (8 means 8/255)", positiveNumber, 8)
    .option(
      "--steps <n>",
      `PGD iterations (default: the method's; ${METHOD_NAMES.map((n) => `${n} ${METHODS[n]!.defaults.steps}`).join(", ")})`,
      positiveInt,
    )
    .option("--tau <x>", "step size as a fraction of eps (default: the method's; the authors' 0.05)", positiveNumber)
    .option("--step-size <levels>", "absolute step size in grey levels (overrides --tau)", positiveNumber)
    .option("--init <kind>", "perturbation init: randn (the authors'), uniform (error-min's), zero (tensorclog's)")
    .option("--restarts <n>", "PGD restarts; each image keeps its best (not error-min)", positiveInt, 1)
    .option("--no-augment", "no differentiable shift+flip inside the attack (targeted/untargeted; baselines have none)")
    .option(
      "--augment-kind <kind>",
      `the attack's augmentation: authors (Fowl et al.'s RandomTransform: shifts up to side/8 px, mean-colour padding, ` +
        "flips; the default) or quarter (shifts up to side/4, black padding: advpoison < 0.2)",
    )
    .option("--chunk-size <n>", "images crafted together (also the unit of resume and sharding)", positiveInt, 512)
    .option("--budget <fraction>", "fraction of the training set to poison (seeded random subset)", fraction, 1)
    .option("--seed <n>", "random seed", nonNegativeInt, 0)
    .option("--permutation <file>", "JSON array pi for targeted poisons (default y -> y+1 mod C)")
    .option("--crafter <file>", "crafting model (.safetensors); repeat for an ensemble", collect, [])
    .option(
      "--crafter-model <name>",
      "architecture of --crafter files without metadata, of --train-crafter, or of error-min's own model (smallcnn-bn)",
    )
    .option("--train-crafter", "train the crafting model first")
    .option("--crafter-recipe <name>", "training recipe for --train-crafter", "fast")
    .option("--crafter-epochs <n>", "epochs for --train-crafter", positiveInt)
    .requiredOption("--out <dir>", "release directory (with --shard: this shard's work directory)")
    .option("--format <f>", "release format: same (as the source), folder (PNG), npy", "same")
    .option("--force", "replace an existing release; without --resume, also an interrupted run's chunks")
    .option("--resume", "continue an interrupted run from its finished chunks (OUT.work; with --shard, OUT)")
    .option("--shard <i/n>", "craft only share i of n (then `advpoison merge`)")
    .option("--json", "print one JSON result as the last line")
    .option("--queue <url>", "enqueue the chunks on redis://HOST:PORT[/DB] for `advpoison worker`s, and return")
    .option("--run <name>", "with --queue: the run's name")
    .option("--shared <dir>", "with --queue: a directory every worker reads and writes (the run's files)");
  for (const f of METHOD_FLAGS) cmd.option(f.flags, f.description);
  addPrecisionOption(addDeviceOption(addDataOptions(cmd))).action(
    action(async (o: CraftCliOptions) => {
      const method = methodOf(methodName(o));
      const request: Omit<PlanRequest, "dataset"> = {
        method: method.name,
        eps: o.eps,
        steps: o.steps,
        tau: o.tau,
        stepSize: o.stepSize,
        init: o.init,
        restarts: o.restarts,
        augment: o.augment,
        augmentKind: o.augmentKind,
        chunkSize: o.chunkSize,
        budget: o.budget,
        seed: o.seed,
        settings: methodSettingsOf(method, o),
        crafterModel: o.crafterModel,
      };
      const device = resolveDevice(o.device);
      const precision = craftingPrecision(method, o.precision, device);
      // Once here, before any data is read (makePlan checks the request again, for the library's callers).
      checkRequest({ ...request, precision }, o.crafter.length + (o.trainCrafter ? 1 : 0));
      if (!FORMATS.includes(o.format)) throw new Error(`--format must be ${FORMATS.join(", ")}, got '${o.format}'`);
      const shard = o.shard ? parseShard(o.shard) : undefined;
      if (shard && !method.chunked)
        throw new Error(`${method.name} cannot be sharded: it optimises all poisoned images together`);
      checkOutput(o.out, o.force ?? false, shard !== undefined);
      const workDir = shard ? o.out : workDirOf(o.out);
      // An earlier run's chunks are continued only when asked, as `train` does with its checkpoint.
      if (!o.queue && existsSync(workDir) && !o.resume) {
        if (!o.force)
          throw new Error(
            `${workDir}: an earlier craft's chunks (killed?); pass --resume to continue or --force to start over`,
          );
        removeOwned(workDir, "crafting work directory");
      }
      const t0 = performance.now();
      const { train: trainSet, test } = loadData(o);
      const progress = terminalProgress();
      const crafters = method.needsCrafter
        ? await obtainCrafter({
            shape: specOf(trainSet),
            files: o.crafter,
            model: o.crafterModel,
            ...(o.trainCrafter
              ? {
                  train: {
                    // Trained once into the work directory, so that a resumed run crafts against the same model.
                    path: join(workDir, CRAFTER_FILE),
                    data: trainSet,
                    recipe: recipe(o.crafterRecipe, o.crafterEpochs ? { epochs: o.crafterEpochs } : {}),
                    seed: o.seed,
                    name: "trained",
                  },
                }
              : {}),
            device,
            progress,
          })
        : { models: [], refs: [] };
      const dataset = { spec: o.dataset, dataDir: o.dataDir ?? null, subset: o.subset ?? null };
      const permutation = o.permutation ? readPermutation(o.permutation, trainSet.numClasses) : undefined;
      const plan = makePlan({ ...request, precision, dataset, permutation }, trainSet, crafters.refs);
      if (o.queue) {
        for (const m of crafters.models) m.model.dispose();
        const crafterFiles = plan.crafters.map((_, k) => o.crafter[k] ?? join(workDir, CRAFTER_FILE));
        const status = await enqueueCraft({ ...o, queue: o.queue, force: o.force ?? false, plan, crafterFiles });
        console.log(formatStatus(status));
        if (o.json) printJson({ ...status });
        return;
      }
      try {
        const { manifest, stats } = await craftRelease({
          plan,
          source: trainSet,
          test,
          models: crafters.models,
          out: o.out,
          workDir,
          format: o.format,
          force: o.force ?? false,
          shard,
          progress,
          device,
        });
        const seconds = (performance.now() - t0) / 1000;
        if (!manifest) {
          console.log(
            `shard ${o.shard} done: ${stats.imagesCrafted} images crafted; merge the shards with \`advpoison merge\``,
          );
          if (o.json) printJson({ shard: o.shard, work_dir: workDir, crafted: stats.imagesCrafted, seconds });
          return;
        }
        const s = manifest.summary;
        console.log(
          `release: ${o.out} (${s.poisoned}/${s.count} images poisoned, max L-inf ${s.max_linf}/255, ` +
            `${(100 * s.attack_success).toFixed(1)}% ${method.success.long}, ${seconds.toFixed(1)} s)`,
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
            // Methods that alternate model and noise (error-min) report their rounds: the stop rule may end them early.
            ...("history" in stats ? { rounds: stats.history } : {}),
          });
        }
      } finally {
        for (const m of crafters.models) m.model.dispose();
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
        const { train: trainSet, test } = planDatasets(plan);
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
