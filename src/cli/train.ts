// `advpoison train`: trains a model on a dataset (clean or a release), with checkpoints and --resume.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { createModel, saveModel } from "../models/index.js";
import { meanSd } from "../report/index.js";
import { manualSeed } from "../torch/index.js";
import { RECIPES, type Recipe, recipe, train, writeRunRecord } from "../train/index.js";
import {
  action,
  addDataOptions,
  addDeviceOption,
  addPrecisionOption,
  type DataOptions,
  loadData,
  nonNegativeInt,
  onDevice,
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
  out: string;
  resume?: boolean;
  force?: boolean;
  json?: boolean;
  device: string;
  precision: string;
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
    .requiredOption("--out <dir>", "output directory (model.safetensors, checkpoint.safetensors, run.json)")
    .option("--resume", "continue an interrupted run from its checkpoint")
    .option("--force", "overwrite an existing finished run in --out")
    .option("--json", "print one JSON result as the last line");
  addPrecisionOption(addDeviceOption(addDataOptions(cmd))).action(
    action(async (o: TrainCliOptions) => {
      const device = resolveDevice(o.device);
      const precision = resolvePrecision(o.precision, device);
      const { train: trainSet, test } = loadData(o);
      const r = recipe(o.recipe, recipeOverrides(o));
      const progress = terminalProgress();
      const runs = [];
      for (let k = 0; k < o.runs; k++) {
        const dir = o.runs > 1 ? join(o.out, `run-${k + 1}`) : o.out;
        const modelPath = join(dir, "model.safetensors");
        if (existsSync(modelPath) && !o.force && !o.resume) {
          throw new Error(`${modelPath} exists; pass --force to train again or --resume to continue`);
        }
        mkdirSync(dir, { recursive: true });
        const seed = o.seed + k;
        manualSeed(seed);
        const info = {
          model: o.model,
          inChannels: trainSet.channels,
          numClasses: trainSet.numClasses,
          imageSize: trainSet.height,
        };
        const model = createModel(o.model, info);
        if (device) model.to(device);
        const result = await train(model, trainSet, {
          ...onDevice(device),
          recipe: r,
          seed,
          precision,
          testSet: test,
          checkpoint: join(dir, "checkpoint.safetensors"),
          resume: o.resume ?? false,
          progress,
          ...(o.runs > 1 ? { label: `run ${k + 1}/${o.runs}` } : {}),
        });
        const last = result.history[result.history.length - 1];
        const testAcc = last?.testAcc ?? Number.NaN;
        saveModel(modelPath, model, info, { test_acc: String(testAcc), dataset: o.dataset });
        writeRunRecord(dir, {
          dataset: o.dataset,
          subset: o.subset ?? null,
          model: o.model,
          seed,
          recipe: r,
          precision,
          test_acc: testAcc,
          ...result,
        });
        model.dispose();
        runs.push({ test_acc: testAcc, seconds: result.seconds, checkpoint: modelPath, history: result.history });
      }
      const acc = meanSd(runs.map((x) => x.test_acc));
      console.log(
        `clean test accuracy: ${(100 * acc.mean).toFixed(2)}%${o.runs > 1 ? ` +- ${(100 * acc.sd).toFixed(2)} over ${o.runs} runs` : ""}`,
      );
      if (o.json) {
        printJson({
          test_acc: acc.mean,
          test_acc_sd: acc.sd,
          epochs: r.epochs,
          precision,
          seconds: runs.reduce((s, x) => s + x.seconds, 0),
          checkpoint: runs[0]?.checkpoint,
          runs,
        });
      }
    }),
  );
}
