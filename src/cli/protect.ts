// `advpoison protect DIR --out OUT`: a photo collection in, the same tree out, every photo at its own size and
// format with a perturbation within eps that makes it unlearnable to models like the crafting one.
import { type Command, InvalidArgumentError, Option } from "commander";
import { MODEL_SPEC_BOUNDS } from "../models/index.js";
import { ADVERSARIAL_METHODS, checkEps, loadCrafters } from "../poison/index.js";
import { protectTree } from "../protect/index.js";
import { resolvePrecision } from "../torch/index.js";
import {
  action,
  addDeviceOption,
  addPrecisionOption,
  collect,
  nonNegativeInt,
  positiveInt,
  positiveIntUpTo,
  positiveNumber,
  printJson,
  resolveDevice,
} from "./common.js";
import { terminalProgress } from "./progress.js";

interface ProtectCliOptions {
  out: string;
  crafter: string[];
  crafterModel?: string;
  numClasses?: number;
  method: keyof typeof ADVERSARIAL_METHODS;
  eps: number;
  steps: number;
  tau: number;
  views: number;
  inputSize: number;
  labels: "auto" | "folders" | "predicted";
  jpegQuality: number;
  jpegMargin: number;
  seed: number;
  precision: string;
  device?: string;
  force?: boolean;
  json?: boolean;
}

function jpegQuality(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 100) throw new InvalidArgumentError(`expected 1..100, got '${v}'`);
  return n;
}

/**
 * Views per PGD step: each is a forward and backward pass of every crafting model; an expectation over
 * transformations is well estimated long before 64, and a typo (1e9) must not reach the allocator.
 */
const MAX_VIEWS = 64;

export function registerProtect(program: Command): void {
  const cmd = program
    .command("protect")
    .description(
      "protect a photo collection: the same tree (PNG/JPEG/WebP, any size) with an unlearnable perturbation in each photo",
    )
    .argument("<dir>", "the photos (class folders DIR/CLASS/... give labels; otherwise the crafter's predictions do)")
    .requiredOption("--out <dir>", "where the protected tree goes (same relative paths, sizes and formats)")
    .option("--crafter <file>", "crafting model (.safetensors); repeat for an ensemble", collect, [])
    .option("--crafter-model <name>", "architecture of --crafter files without metadata (e.g. resnet18-imagenet)")
    .option(
      "--num-classes <n>",
      "classes of --crafter files without metadata (default 1000)",
      positiveIntUpTo(MODEL_SPEC_BOUNDS.numClasses.max),
    )
    .addOption(
      new Option("--method <m>", "targeted (to pi(label) = label+1 mod C) or untargeted")
        .choices(Object.keys(ADVERSARIAL_METHODS))
        .default("targeted"),
    )
    .option("--eps <levels>", "L-inf budget in grey levels, after decoding the written file", positiveNumber, 8)
    .option("--steps <n>", "PGD steps per photo", positiveInt, 100)
    .option("--tau <x>", "step size as a fraction of eps", positiveNumber, 0.05)
    .option(
      "--views <n>",
      `pipeline views per step (the centre crop and random resized crops + flips), up to ${MAX_VIEWS}`,
      positiveIntUpTo(MAX_VIEWS),
      4,
    )
    .option(
      "--input-size <px>",
      "the crafting model's input side",
      positiveIntUpTo(MODEL_SPEC_BOUNDS.imageSize.max),
      224,
    )
    .addOption(
      new Option("--labels <kind>", "auto, folders or predicted")
        .choices(["auto", "folders", "predicted"])
        .default("auto"),
    )
    .option("--jpeg-quality <q>", "quality of JPEG outputs (raised where needed to keep the budget)", jpegQuality, 95)
    .option(
      "--jpeg-margin <levels>",
      "grey levels of the budget kept free for JPEG's re-encoding error (JPEG photos are crafted within eps - margin)",
      Number,
      3,
    )
    .option("--seed <n>", "random seed", nonNegativeInt, 0)
    .option("--force", "replace an earlier, different protection in --out")
    .option("--json", "print one JSON result as the last line");
  addPrecisionOption(cmd);
  addDeviceOption(cmd);
  cmd.action(
    action(async (dir: string, o: ProtectCliOptions) => {
      if (o.crafter.length === 0) throw new Error("protect needs a crafting model: --crafter FILE");
      checkEps(o.eps);
      const device = resolveDevice(o.device);
      const precision = resolvePrecision(o.precision, device);
      const loaded = loadCrafters(
        o.crafter.map((path) => ({ path, model: o.crafterModel })),
        { inChannels: 3, numClasses: o.numClasses ?? 1000, imageSize: o.inputSize },
        { precision, device },
      );
      const models = loaded.map((l) => l.model);
      try {
        const classes = new Set(loaded.map((l) => l.info.numClasses));
        if (classes.size > 1)
          throw new Error(`the crafting models disagree on their classes (${[...classes].join(", ")})`);
        if (loaded.some((l) => l.info.inChannels !== 3))
          throw new Error("protect needs RGB crafting models (3 input channels)");
        const { manifest, resumed } = await protectTree({
          source: dir,
          out: o.out,
          models,
          crafters: loaded.map((l) => ({ model: l.info.model, sha256: l.sha256 })),
          numClasses: loaded[0]!.info.numClasses,
          method: o.method,
          eps: o.eps,
          steps: o.steps,
          tau: o.tau,
          views: o.views,
          inputSide: o.inputSize,
          labels: o.labels,
          jpegQuality: o.jpegQuality,
          jpegMargin: o.jpegMargin,
          seed: o.seed,
          precision,
          device,
          force: o.force ?? false,
          progress: terminalProgress(),
        });
        const s = manifest.summary;
        for (const k of manifest.skipped) console.error(`advpoison: skipped: ${k.error}`);
        console.log(
          `protected: ${o.out} (${s.count} photos, ${s.skipped} skipped, max L-inf ${s.max_linf}/255, ` +
            `${(100 * s.attack_success).toFixed(1)}% fool the crafter, ${s.seconds.toFixed(1)} s; report.html)`,
        );
        if (o.json) printJson({ out: o.out, resumed, ...s, skipped_files: manifest.skipped.map((k) => k.path) });
      } finally {
        for (const m of models) m.dispose();
      }
    }),
  );
}
