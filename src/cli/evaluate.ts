// `advpoison evaluate`: clean test accuracy, per class, and the confusion matrix of a saved model.
import type { Command } from "commander";
import { loadDataset } from "../data/index.js";
import { loadModel } from "../models/index.js";
import { evaluate, specOf } from "../train/index.js";
import { action, addDeviceOption, addPrecisionOption, printJson, resolveDevice, resolvePrecision } from "./common.js";

export function registerEvaluate(program: Command): void {
  const cmd = program
    .command("evaluate")
    .description("evaluate a saved model on a clean test set")
    .requiredOption("--checkpoint <file>", "model file (.safetensors) written by `advpoison train` or PyTorch")
    .option("--dataset <spec>", "dataset whose test split to use", "fashion-mnist")
    .option("--data-dir <dir>", "where the named dataset lives")
    .option("--model <name>", "architecture, for files without advpoison metadata")
    .option("--json", "print one JSON result as the last line");
  addPrecisionOption(addDeviceOption(cmd)).action(
    action(
      (o: {
        checkpoint: string;
        dataset: string;
        dataDir?: string;
        model?: string;
        json?: boolean;
        device: string;
        precision: string;
      }) => {
        const device = resolveDevice(o.device);
        const precision = resolvePrecision(o.precision, device);
        const { test } = loadDataset(o.dataset, { dataDir: o.dataDir });
        const { model, info } = loadModel(o.checkpoint, { model: o.model, ...specOf(test) });
        model.to(device);
        const ev = evaluate(model, test, { device, precision });
        console.log(
          `${info.model} on ${o.dataset} test (${ev.count} images): accuracy ${(100 * ev.accuracy).toFixed(2)}%`,
        );
        for (const [c, a] of ev.perClass.entries()) {
          console.log(`  ${(test.classNames[c] ?? String(c)).padEnd(14)} ${(100 * a).toFixed(1)}%`);
        }
        if (o.json) {
          printJson({
            test_acc: ev.accuracy,
            loss: ev.loss,
            per_class: ev.perClass,
            confusion: ev.confusion,
            model: info.model,
            precision,
          });
        }
      },
    ),
  );
}
