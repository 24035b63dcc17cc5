// `advpoison train`: trains a model on a dataset (clean or a release), with checkpoints and --resume.
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import type { Dataset } from "../data/index.js";
import {
  DEFENSE_DEFAULTS,
  DEFENSE_NAMES,
  type DefenseName,
  defenseSettingsOf,
  makeDefense,
} from "../experiment/index.js";
import { saveModel } from "../models/index.js";
import { meanSd } from "../report/index.js";
import type { Precision } from "../torch/index.js";
import {
  fit,
  RECIPES,
  type Recipe,
  RUN_FILE,
  recipe,
  specOf,
  TrainingDiverged,
  testAccuracies,
  writeRunRecord,
} from "../train/index.js";
import { outputKind, removeOwned, writeMarker } from "../util/ownership.js";
import {
  action,
  addDataOptions,
  addDeviceOption,
  addPrecisionOption,
  type DataOptions,
  loadData,
  nonNegativeInt,
  positiveInt,
  positiveNumber,
  printJson,
  resolveDevice,
  resolvePrecision,
} from "./common.js";
import { terminalProgress } from "./progress.js";

interface TrainCliOptions extends DataOptions {
  model: string;
  recipe: string;
  epochs?: number;
  lr?: number;
  batchSize?: number;
  seed: number;
  runs: number;
  snapshots?: number[];
  defense: string;
  out: string;
  resume?: boolean;
  force?: boolean;
  json?: boolean;
  device: string;
  precision: string;
}

/** What `train` writes into --out (and run-N/ for --runs): anything else there is not a run's. */
const RUN_ENTRY = /^(model(-epoch-\d+)?\.safetensors|checkpoint\.safetensors|run-\d+|\..*)$/;

/** "1,3" as epochs, each a positive integer. */
const epochList = (v: string): number[] => [...new Set(v.split(",").map((e) => positiveInt(e.trim())))];

/** Where --snapshots keeps the model as it was after `epoch`. */
export const snapshotFile = (dir: string, epoch: number) => join(dir, `model-epoch-${epoch}.safetensors`);

/**
 * Prepares `out` for a run: absent or empty, it is made and marked as advpoison's training run; marked, or holding
 * only a run's files (a run of an earlier version), it is trained into. Anything else is a user's folder and is
 * refused even with --force: a run written into it would make it look like advpoison's.
 */
function openRunDir(out: string): { created: boolean } {
  if (existsSync(out) && readdirSync(out).length > 0) {
    const kind = outputKind(out);
    if (kind === "training run") return { created: false };
    const foreign = readdirSync(out).filter((f) => f !== RUN_FILE && !RUN_ENTRY.test(f));
    if (kind === undefined && foreign.length === 0) return { created: false };
    throw new Error(
      `${out} is not empty and not an advpoison training run (it holds ${kind ? `advpoison's ${kind}` : foreign[0]}); choose another --out`,
    );
  }
  const created = !existsSync(out);
  mkdirSync(out, { recursive: true });
  writeMarker(out, "training run");
  return { created };
}

export function recipeOverrides(o: { epochs?: number; lr?: number; batchSize?: number }): Partial<Recipe> {
  return { epochs: o.epochs, lr: o.lr, batchSize: o.batchSize } as Partial<Recipe>;
}

export function registerTrain(program: Command): void {
  const cmd = program
    .command("train")
    .description("train a model (e.g. a crafting model, or a victim on a release) and report clean test accuracy")
    .option("--model <name>", "architecture (see `advpoison models`)", "smallcnn-bn")
    .option("--recipe <name>", `training recipe: ${Object.keys(RECIPES).join(", ")}`, "fast")
    .option("--epochs <n>", "override the recipe's epochs", positiveInt)
    .option("--lr <x>", "override the recipe's learning rate", positiveNumber)
    .option("--batch-size <n>", "override the recipe's batch size", positiveInt)
    .option("--seed <n>", "random seed (runs use seed, seed+1, ...)", nonNegativeInt, 0)
    .option("--runs <n>", "train this many models with different seeds; report mean +- sd", positiveInt, 1)
    .option(
      "--defense <name>",
      `a training-time defence, as in \`experiment defenses\` with its default settings: ${DEFENSE_NAMES.join(", ")}`,
      "none",
    )
    .option(
      "--snapshots <epochs>",
      "also keep the model after these epochs (comma-separated), as model-epoch-E.safetensors: crafting models " +
        "for a checkpoint ensemble (craft --crafter FILE, repeated)",
      epochList,
    )
    .requiredOption("--out <dir>", "output directory (model.safetensors, checkpoint.safetensors, run.json)")
    .option("--resume", "continue an interrupted run from its checkpoint")
    .option("--force", "overwrite an existing finished run in --out, or train into a directory that is not a run")
    .option("--json", "print one JSON result as the last line");
  addPrecisionOption(addDeviceOption(addDataOptions(cmd))).action(
    action(async (o: TrainCliOptions) => {
      if (!(DEFENSE_NAMES as readonly string[]).includes(o.defense))
        throw new Error(`unknown defense '${o.defense}' (${DEFENSE_NAMES.join(", ")})`);
      const defense = o.defense as DefenseName;
      const device = resolveDevice(o.device);
      const precision = resolvePrecision(o.precision, device);
      const { train: trainSet, test } = loadData(o);
      const r = recipe(o.recipe, recipeOverrides(o));
      const late = (o.snapshots ?? []).filter((e) => e > r.epochs);
      if (late.length > 0) throw new Error(`--snapshots ${late.join(",")}: the run has only ${r.epochs} epochs`);
      const { created } = openRunDir(o.out);
      try {
        await trainRuns(o, { defense, device, precision, trainSet, test, r });
      } catch (e) {
        // A run that diverged from nothing leaves nothing: no folder that looks like a trained model.
        if (created && e instanceof TrainingDiverged) removeOwned(o.out, "training run");
        throw e;
      }
    }),
  );
}

async function trainRuns(
  o: TrainCliOptions,
  {
    defense,
    device,
    precision,
    trainSet,
    test,
    r,
  }: {
    defense: DefenseName;
    device: string;
    precision: Precision;
    trainSet: Dataset;
    test: Dataset;
    r: Recipe;
  },
): Promise<void> {
  const progress = terminalProgress();
  const runs = [];
  for (let k = 0; k < o.runs; k++) {
    const dir = o.runs > 1 ? join(o.out, `run-${k + 1}`) : o.out;
    const modelPath = join(dir, "model.safetensors");
    if (existsSync(modelPath) && !o.force && !o.resume) {
      throw new Error(`${modelPath} exists; pass --force to train again or --resume to continue`);
    }
    const checkpoint = join(dir, "checkpoint.safetensors");
    if (!existsSync(modelPath) && existsSync(checkpoint) && !o.force && !o.resume) {
      throw new Error(
        `${checkpoint}: an unfinished run (killed?); pass --resume to continue it or --force to start over`,
      );
    }
    mkdirSync(dir, { recursive: true });
    const seed = o.seed + k;
    const info = { model: o.model, ...specOf(trainSet) };
    const transform = makeDefense(defense, DEFENSE_DEFAULTS, { seed, numClasses: trainSet.numClasses });
    const { model, ...result } = await fit(o.model, trainSet, {
      device,
      recipe: r,
      seed,
      precision,
      testSet: test,
      checkpoint,
      resume: o.resume ?? false,
      progress,
      batchTransform: transform,
      label: o.runs > 1 ? `run ${k + 1}/${o.runs}` : undefined,
      onEpoch: (epoch, trained) => {
        if (o.snapshots?.includes(epoch)) saveModel(snapshotFile(dir, epoch), trained, info, { epoch: String(epoch) });
      },
    });
    const accuracies = testAccuracies(result.history);
    saveModel(modelPath, model, info, { test_acc: String(accuracies.test_acc), dataset: o.dataset });
    writeRunRecord(dir, {
      dataset: o.dataset,
      subset: o.subset ?? null,
      model: o.model,
      seed,
      recipe: r,
      ...accuracies,
      defense: { name: defense, settings: defenseSettingsOf(defense, DEFENSE_DEFAULTS) },
      precision,
      ...result,
    });
    model.dispose();
    runs.push({ ...accuracies, seconds: result.seconds, checkpoint: modelPath, history: result.history });
  }
  const acc = meanSd(runs.map((x) => x.test_acc));
  const peak = meanSd(runs.map((x) => x.peak_test_acc));
  const spread = (s: { sd: number }) => (o.runs > 1 ? ` +- ${(100 * s.sd).toFixed(2)}` : "");
  console.log(
    `clean test accuracy: ${(100 * acc.mean).toFixed(2)}%${spread(acc)} final, ${(100 * peak.mean).toFixed(2)}%` +
      `${spread(peak)} peak (best epoch)${o.runs > 1 ? ` over ${o.runs} runs` : ""}`,
  );
  if (o.json) {
    printJson({
      test_acc: acc.mean,
      test_acc_sd: acc.sd,
      peak_test_acc: peak.mean,
      peak_test_acc_sd: peak.sd,
      // One run's best epoch; with several, each run's is in `runs`.
      peak_epoch: runs.length === 1 ? runs[0]!.peak_epoch : null,
      epochs: r.epochs,
      precision,
      seconds: runs.reduce((s, x) => s + x.seconds, 0),
      checkpoint: runs[0]?.checkpoint,
      runs,
    });
  }
}
