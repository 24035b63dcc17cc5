// `advpoison demo`: adversarial poisoning end to end on the real Fashion-MNIST, scaled to finish on a
// 2-core CPU: train a crafting model, craft a class-targeted release, train a victim on clean data and one
// on the release, and compare their clean test accuracy.
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { type Dataset, loadSplit, subset } from "../data/index.js";
import { craftRelease, makePlan, obtainCrafter } from "../poison/index.js";
import { formatPeak, formatPercent, historySeries, perturbationGrid, writeReport } from "../report/index.js";
import type { Precision } from "../torch/index.js";
import { type EpochRecord, fit, type Progress, recipe, specOf, testAccuracies } from "../train/index.js";
import {
  action,
  addDeviceOption,
  addPrecisionOption,
  loadData,
  positiveInt,
  positiveNumber,
  printJson,
  resolveDevice,
  resolvePrecision,
} from "./common.js";
import { terminalProgress } from "./progress.js";

interface DemoOptions {
  out: string;
  subset: number;
  eps: number;
  steps: number;
  crafterEpochs: number;
  victimEpochs: number;
  dataDir?: string;
  json?: boolean;
  device: string;
  precision: string;
}

const MODEL = "smallcnn-bn";

async function victim(
  name: string,
  data: Dataset,
  test: Dataset,
  epochs: number,
  progress: Progress,
  device: string,
  precision: Precision,
): Promise<EpochRecord[]> {
  const r = await fit(MODEL, data, {
    device,
    precision,
    recipe: recipe("fast", { epochs }),
    seed: 1,
    testSet: test,
    progress,
    label: name,
  });
  r.model.dispose();
  return r.history;
}

export function registerDemo(program: Command): void {
  const cmd = program
    .command("demo")
    .description("poison Fashion-MNIST and show that a network trained on it fails (about 10 minutes on 2 cores)")
    .option("--out <dir>", "where the run goes", "runs/demo")
    .option("--subset <n>", "training images to poison and train victims on", positiveInt, 10000)
    .option("--eps <levels>", "L-inf budget in grey levels", positiveNumber, 16)
    .option("--steps <n>", "PGD steps", positiveInt, 40)
    .option("--crafter-epochs <n>", "epochs of the crafting model (on all 60k images)", positiveInt, 2)
    .option("--victim-epochs <n>", "epochs of each victim", positiveInt, 8)
    .option("--data-dir <dir>", "where Fashion-MNIST lives (default /usr/share/datasets/fashion-mnist)")
    .option("--json", "print one JSON result as the last line");
  addPrecisionOption(addDeviceOption(cmd)).action(
    action(async (o: DemoOptions) => {
      const device = resolveDevice(o.device);
      const precision = resolvePrecision(o.precision, device);
      const t0 = performance.now();
      const progress = terminalProgress();
      const { train: full, test } = loadData({ dataset: "fashion-mnist", dataDir: o.dataDir });
      const data = subset(full, o.subset);
      mkdirSync(o.out, { recursive: true });
      progress.log(
        `advpoison demo: Fashion-MNIST, crafting model ${MODEL} (${o.crafterEpochs} epochs on ${full.count} images), ` +
          `targeted poisons at eps ${o.eps}/255 with ${o.steps} PGD steps on the first ${o.subset} images, ` +
          `victims ${MODEL} for ${o.victimEpochs} epochs. Scaled down from the paper (CIFAR-10, ResNet-18, 250 steps) to fit 2 CPU cores.`,
      );

      // Trained afresh by every demo run (obtainCrafter would reuse an existing file).
      const crafterPath = join(o.out, "crafter.safetensors");
      rmSync(crafterPath, { force: true });
      const crafter = await obtainCrafter({
        shape: specOf(full),
        model: MODEL,
        train: { path: crafterPath, data: full, recipe: recipe("fast", { epochs: o.crafterEpochs }), seed: 0 },
        device,
        progress,
      });
      const plan = makePlan(
        {
          method: "targeted",
          eps: o.eps,
          steps: o.steps,
          tau: 0.1,
          init: "randn",
          chunkSize: 512,
          seed: 0,
          precision,
          dataset: { spec: "fashion-mnist", dataDir: o.dataDir ?? null, subset: o.subset },
        },
        data,
        crafter.refs,
      );
      const release = join(o.out, "release");
      const { manifest } = await craftRelease({
        plan,
        source: data,
        test,
        models: crafter.models,
        out: release,
        force: true,
        progress,
        device,
      });
      for (const m of crafter.models) m.model.dispose();
      // The victim trains on what was released: the files, read back as any user would.
      const poisoned = loadSplit(`fashion-mnist:${release}`, "train");

      const cleanHistory = await victim("clean victim", data, test, o.victimEpochs, progress, device, precision);
      const poisonedHistory = await victim(
        "poisoned victim",
        poisoned,
        test,
        o.victimEpochs,
        progress,
        device,
        precision,
      );
      const clean = testAccuracies(cleanHistory);
      const poisonedRun = testAccuracies(poisonedHistory);
      const cleanAcc = clean.test_acc;
      const poisonedAcc = poisonedRun.test_acc;
      // A defender who stops at the best epoch on clean validation data gets the peak, not the final accuracy.
      const both = (a: typeof clean) => `final; peak ${formatPercent(a.peak_test_acc)} (epoch ${a.peak_epoch})`;
      const seconds = (performance.now() - t0) / 1000;
      const report = writeReport(o.out, {
        title: "advpoison demo: adversarial poisoning of Fashion-MNIST",
        generator: "demo",
        subtitle:
          `Class-targeted poisons (eps ${o.eps}/255, ${o.steps} PGD steps) on the first ${o.subset} training images; ` +
          `${MODEL} victims trained ${o.victimEpochs} epochs, tested on the clean test set. CPU scale, not the paper's.`,
        headline: [
          {
            label: "victim on clean data",
            value: formatPercent(cleanAcc),
            tone: "good",
            detail: `clean test accuracy, ${both(clean)}`,
          },
          {
            label: "victim on the release",
            value: formatPercent(poisonedAcc),
            tone: "bad",
            detail: `clean test accuracy, ${both(poisonedRun)}`,
          },
        ],
        params: {
          dataset: "fashion-mnist",
          images: o.subset,
          eps: `${o.eps}/255`,
          steps: o.steps,
          "step size": `${0.1 * o.eps}/255`,
          "crafting model": `${MODEL}, ${o.crafterEpochs} epochs on ${full.count} images`,
          victims: `${MODEL}, ${o.victimEpochs} epochs, crop+flip`,
          precision,
          seconds: Math.round(seconds),
        },
        tables: [
          {
            title: "Clean test accuracy of victims",
            columns: ["trained on", "final test accuracy", "peak (best epoch)"],
            rows: [
              ["clean images", formatPercent(cleanAcc, 2), formatPeak(clean.peak_test_acc, clean.peak_epoch)],
              [
                `poisoned release (eps ${o.eps}/255)`,
                formatPercent(poisonedAcc, 2),
                formatPeak(poisonedRun.peak_test_acc, poisonedRun.peak_epoch),
              ],
            ],
          },
        ],
        curves: [
          {
            title: "Victim test accuracy over training",
            xLabel: "epoch",
            yLabel: "clean test accuracy",
            yFormat: "percent",
            series: [historySeries("clean data", cleanHistory), historySeries("poisoned release", poisonedHistory)],
          },
        ],
        imageGrids: [perturbationGrid(data, poisoned, 3, { title: "Clean, poisoned and amplified perturbation" })],
        manifest: manifest!,
        notes: [
          "Each poisoned image keeps its true label; its perturbation pushes the crafting model toward class y+1. " +
            "A network trained on such images learns the perturbations instead of the garments.",
        ],
        created: new Date().toISOString(),
      });
      const result = {
        clean_acc: cleanAcc,
        clean_peak_acc: clean.peak_test_acc,
        poisoned_acc: poisonedAcc,
        poisoned_peak_acc: poisonedRun.peak_test_acc,
        precision,
        eps: o.eps,
        steps: o.steps,
        subset: o.subset,
        attack_success: manifest!.summary.attack_success,
        seconds,
        release,
        report: report.html,
      };
      console.log("");
      console.log(`                      clean test accuracy: final, peak (best epoch)`);
      console.log(`victim on clean data  ${(100 * cleanAcc).toFixed(2)}%, ${(100 * clean.peak_test_acc).toFixed(2)}%`);
      console.log(
        `victim on the release ${(100 * poisonedAcc).toFixed(2)}%, ${(100 * poisonedRun.peak_test_acc).toFixed(2)}%   ` +
          `(eps ${o.eps}/255, ${o.steps} steps, ${o.subset} images)`,
      );
      console.log(`${seconds.toFixed(0)} s in all; report: ${report.html}; the release: ${release}`);
      if (o.json) printJson(result);
    }),
  );
}
