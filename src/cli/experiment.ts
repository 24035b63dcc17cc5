// `advpoison experiment NAME`: the paper's experiments (methods, eps, budget, transfer, defenses, labels)
// from a config file (experiments/NAME.json), every field overridable by flags or --set, resumable.
import { type Command, InvalidArgumentError } from "commander";
import { METHOD_BLOCKS, METHOD_CONDITIONS, setPath } from "../experiment/config/index.js";
import { DEFENSE_NAMES } from "../experiment/defenses/index.js";
import { EXPERIMENTS } from "../experiment/experiments.js";
import {
  EXPERIMENT_NAMES,
  type ExperimentName,
  resolveConfig,
  runExperiment,
  TABLE_COLUMNS,
  tableRows,
  textTable,
} from "../experiment/index.js";
import { methodOf } from "../poison/index.js";
import { action, collect, nonNegativeInt, positiveInt, positiveNumber, printJson, resolveDevice } from "./common.js";
import { terminalProgress } from "./progress.js";

type Parse = (v: string) => unknown;

/** A positive integer, or "all" for null (the whole split). */
function countOrAll(v: string): number | null {
  return v === "all" ? null : positiveInt(v);
}

/** countOrAll for commander, which would turn a parsed null into "": "all" stays a string until flagOverrides. */
function countOrAllFlag(v: string): number | "all" {
  return countOrAll(v) ?? "all";
}

function list<T>(parse: (s: string) => T): (v: string) => T[] {
  return (v) =>
    v
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "")
      .map(parse);
}

function unitFraction(v: string): number {
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError(`expected a fraction in [0, 1], got '${v}'`);
  return n;
}

/** model[:epochs[:images[:test images]]], e.g. resnet18:2:1000:1000. */
function victimEntry(v: string): Record<string, unknown> {
  const [model, epochs, images, test] = v.split(":");
  if (!model) throw new InvalidArgumentError(`expected model[:epochs[:images[:test images]]], got '${v}'`);
  return {
    model,
    ...(epochs ? { epochs: positiveInt(epochs) } : {}),
    ...(images ? { subset: countOrAll(images) } : {}),
    ...(test ? { testSubset: countOrAll(test) } : {}),
  };
}

interface Flag {
  flags: string;
  help: string;
  /** The config path it sets (per experiment when it differs). */
  path: string | ((name: ExperimentName) => string);
  parse?: Parse;
  /** Value of a boolean flag (--no-x: false). */
  value?: unknown;
  only?: readonly ExperimentName[];
}

const WITH_REFERENCE: readonly ExperimentName[] = ["eps", "transfer", "defenses", "labels"];

const FLAGS: Flag[] = [
  {
    flags: "--dataset <spec>",
    help: "fashion-mnist, mnist, cifar10, cifar100 (NAME:DIR), folder:DIR, npy:DIR",
    path: "dataset",
  },
  { flags: "--data-dir <dir>", help: "where the named dataset lives", path: "dataDir" },
  {
    flags: "--subset <n>",
    help: 'poison and train victims on the first n training images ("all")',
    path: "subset",
    parse: countOrAllFlag,
  },
  {
    flags: "--test-subset <n>",
    help: 'evaluate victims on the first n test images ("all")',
    path: "testSubset",
    parse: countOrAllFlag,
  },
  { flags: "--seed <n>", help: "random seed (victim run k uses seed+k)", path: "seed", parse: nonNegativeInt },
  { flags: "--runs <n>", help: "victims per condition (mean +- sd)", path: "runs", parse: positiveInt },
  { flags: "--device <name>", help: "torch device, e.g. cuda", path: "device" },
  {
    flags: "--precision <p>",
    help: "fp32, bf16 or auto (bf16 where native): crafting models' passes and victims' training",
    path: "precision",
  },
  { flags: "--out <dir>", help: "run directory (default runs/experiment-NAME)", path: "out" },
  { flags: "--crafter <file>", help: "use this crafting model instead of training one", path: "crafter.path" },
  { flags: "--crafter-model <name>", help: "architecture of the crafting model", path: "crafter.model" },
  { flags: "--crafter-recipe <name>", help: "training recipe of the crafting model", path: "crafter.recipe" },
  { flags: "--crafter-epochs <n>", help: "epochs of the crafting model", path: "crafter.epochs", parse: positiveInt },
  {
    flags: "--crafter-subset <n>",
    help: 'train the crafting model on the first n training images ("all")',
    path: "crafter.subset",
    parse: countOrAllFlag,
  },
  {
    flags: "--method <name>",
    help: "the poison: targeted or untargeted (not methods)",
    path: "poison.method",
    only: ["eps", "budget", "transfer", "defenses", "labels"],
  },
  {
    flags: "--eps <levels>",
    help: "budget in grey levels; eps experiment: a comma-separated list",
    path: (n) => (n === "eps" ? "eps" : "poison.eps"),
    parse: (v) => list(positiveNumber)(v),
  },
  { flags: "--steps <n>", help: "PGD steps of the adversarial poisons", path: "poison.steps", parse: positiveInt },
  { flags: "--tau <x>", help: "PGD step size as a fraction of eps", path: "poison.tau", parse: positiveNumber },
  { flags: "--init <kind>", help: "PGD init: randn, uniform, zero", path: "poison.init" },
  { flags: "--restarts <n>", help: "PGD restarts", path: "poison.restarts", parse: positiveInt },
  {
    flags: "--no-augment",
    help: "no differentiable shift+flip inside the attack",
    path: "poison.augment",
    value: false,
  },
  {
    flags: "--augment-kind <kind>",
    help: "the attack's augmentation: authors (RandomTransform, default) or quarter (advpoison < 0.2)",
    path: "poison.augmentKind",
  },
  { flags: "--chunk-size <n>", help: "images crafted together", path: "poison.chunkSize", parse: positiveInt },
  { flags: "--victim-model <name>", help: "victim architecture", path: "victim.model" },
  { flags: "--victim-recipe <name>", help: "victim training recipe", path: "victim.recipe" },
  { flags: "--victim-epochs <n>", help: "victim epochs", path: "victim.epochs", parse: positiveInt },
  { flags: "--victim-lr <x>", help: "victim learning rate", path: "victim.lr", parse: positiveNumber },
  { flags: "--victim-batch-size <n>", help: "victim batch size", path: "victim.batchSize", parse: positiveInt },
  {
    flags: "--methods <list>",
    help: `methods: ${METHOD_CONDITIONS.join(",")}`,
    path: "methods",
    parse: list(String),
    only: ["methods"],
  },
  {
    flags: "--em-steps <n>",
    help: "error-min: PGD steps per round",
    path: "errorMin.steps",
    parse: positiveInt,
    only: ["methods"],
  },
  {
    flags: "--tc-steps <n>",
    help: "tensorclog: PGD steps",
    path: "tensorclog.steps",
    parse: positiveInt,
    only: ["methods"],
  },
  // Each baseline's own settings, with the flags `craft` gives them (the methods table's).
  ...Object.entries(METHOD_BLOCKS).flatMap(([name, block]) =>
    methodOf(name).flags.map(
      (f): Flag => ({
        flags: f.flags,
        help: f.description,
        path: `${block}.${f.key}`,
        parse: f.parse,
        only: ["methods"],
      }),
    ),
  ),
  {
    flags: "--budgets <list>",
    help: "budget: poisoned fractions, e.g. 0,0.5,1",
    path: "budgets",
    parse: list(unitFraction),
    only: ["budget"],
  },
  {
    flags: "--victims <list>",
    help: "transfer: model[:epochs[:images[:test images]]],...",
    path: "victims",
    parse: list(victimEntry),
    only: ["transfer"],
  },
  {
    flags: "--defenses <list>",
    help: `defenses: ${DEFENSE_NAMES.join(",")}`,
    path: "defenses",
    parse: list(String),
    only: ["defenses"],
  },
  {
    flags: "--adv-eps <levels>",
    help: "adversarial training eps (default: the poison's)",
    path: "defense.adversarial.eps",
    parse: positiveNumber,
    only: ["defenses"],
  },
  {
    flags: "--adv-steps <n>",
    help: "adversarial training PGD steps",
    path: "defense.adversarial.steps",
    parse: positiveInt,
    only: ["defenses"],
  },
  {
    flags: "--cutout-size <fraction>",
    help: "cutout square side / image side",
    path: "defense.cutout.fraction",
    parse: positiveNumber,
    only: ["defenses"],
  },
  {
    flags: "--mixup-alpha <x>",
    help: "mixup Beta(alpha, alpha)",
    path: "defense.mixup.alpha",
    parse: positiveNumber,
    only: ["defenses"],
  },
  {
    flags: "--cutmix-alpha <x>",
    help: "cutmix Beta(alpha, alpha)",
    path: "defense.cutmix.alpha",
    parse: positiveNumber,
    only: ["defenses"],
  },
  {
    flags: "--jpeg-quality <q>",
    help: "JPEG quality 1..100",
    path: "defense.jpeg.quality",
    parse: positiveInt,
    only: ["defenses"],
  },
  {
    flags: "--noise-sigma <levels>",
    help: "Gaussian noise sd in grey levels",
    path: "defense.noise.sigma",
    parse: positiveNumber,
    only: ["defenses"],
  },
  {
    flags: "--labels <list>",
    help: "labels: original,permuted",
    path: "labels",
    parse: list(String),
    only: ["labels"],
  },
  {
    flags: "--no-clean-reference",
    help: "no victims on clean data for reference",
    path: "cleanReference",
    value: false,
    only: WITH_REFERENCE,
  },
];

/** The attribute commander stores a flag under: --victim-epochs -> victimEpochs, --no-augment -> augment. */
function attributeOf(flags: string): string {
  const long = flags
    .split(/[ ,]/)
    .find((s) => s.startsWith("--"))!
    .slice(2)
    .replace(/^no-/, "");
  return long.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** The config overrides given on the command line (only flags actually typed count). */
export function flagOverrides(name: ExperimentName, cmd: Command): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const opts = cmd.opts();
  for (const f of FLAGS) {
    const attr = attributeOf(f.flags);
    if (cmd.getOptionValueSource(attr) !== "cli") continue;
    if (f.only && !f.only.includes(name))
      throw new Error(`${f.flags.split(" ")[0]} does not apply to experiment ${name} (only ${f.only.join(", ")})`);
    let value = f.value !== undefined ? f.value : opts[attr];
    if (f.parse === countOrAllFlag && value === "all") value = null;
    const path = typeof f.path === "string" ? f.path : f.path(name);
    if (f.flags.startsWith("--eps")) {
      const values = value as number[];
      if (name !== "eps" && values.length !== 1) throw new Error(`--eps takes one value for experiment ${name}`);
      value = name === "eps" ? values : values[0];
    }
    setPath(out, path, value);
  }
  return out;
}

interface ExperimentCliOptions {
  config?: string;
  full?: boolean;
  set: string[];
  json?: boolean;
}

export function registerExperiment(program: Command): void {
  const cmd = program
    .command("experiment")
    .description(
      "run one of the paper's experiments (methods, eps, budget, transfer, defenses, labels); resumable, " +
        "results in runs/experiment-NAME/{results.json,results.csv,summary.csv,report.html}",
    )
    .argument("<name>", EXPERIMENT_NAMES.join(", "))
    .option("--config <file>", "config file (default experiments/NAME.json)")
    .option("--full", "the paper's scale: the config's \"full\" preset (CIFAR-10, ResNet-18, 250 steps; for GPUs)")
    .option(
      "--set <path=value>",
      "set any config field, e.g. --set victim.epochs=3 (JSON values); repeatable",
      collect,
      [],
    )
    .option("--json", "print one JSON result as the last line");
  for (const f of FLAGS) {
    if (f.value !== undefined) cmd.option(f.flags, f.help);
    else cmd.option(f.flags, f.help, f.parse as (v: string, prev: unknown) => unknown);
  }
  cmd.action(
    action(async (name: string, o: ExperimentCliOptions, command: Command) => {
      if (!(EXPERIMENT_NAMES as readonly string[]).includes(name))
        throw new Error(`unknown experiment '${name}' (${EXPERIMENT_NAMES.join(", ")})`);
      const n = name as ExperimentName;
      const resolved = resolveConfig(n, {
        configFile: o.config,
        full: o.full ?? false,
        overrides: flagOverrides(n, command),
        sets: o.set,
      });
      // An unset device means the GPU of a CUDA libtorch when there is one, else the CPU.
      const device = resolveDevice(resolved.config.device ?? undefined);
      const r = await runExperiment(
        n,
        { ...resolved, config: { ...resolved.config, device } },
        { progress: terminalProgress() },
      );
      const def = EXPERIMENTS[n];
      console.log("");
      console.log(`experiment ${n}: ${def.title} (${r.scale})`);
      console.log(r.scaleNote);
      console.log("");
      console.log(textTable([...def.columns, ...TABLE_COLUMNS], tableRows(def, r.rows)));
      console.log("");
      const s = r.stats;
      console.log(
        `${s.victimsTrained} victims trained, ${s.victimsReused} reused; ${s.releasesCrafted} releases crafted, ` +
          `${s.releasesReused} reused; ${r.seconds.toFixed(0)} s`,
      );
      console.log(`results: ${r.results}, ${r.csv}, ${r.summaryCsv}; report: ${r.report}`);
      if (o.json) {
        printJson({
          experiment: n,
          scale: r.scale,
          results: r.results,
          csv: r.csv,
          summary_csv: r.summaryCsv,
          report: r.report,
          rows: r.rows.map((row) => ({
            condition: row.condition,
            ...row.cells,
            runs: row.runs,
            victim_epochs: row.victim_epochs,
            test_acc_mean: row.test_acc_mean,
            test_acc_sd: row.test_acc_sd,
            peak_test_acc_mean: row.peak_test_acc_mean,
            peak_test_acc_sd: row.peak_test_acc_sd,
            attack_success: row.attack_success,
            skipped: row.skipped,
          })),
          victims_trained: s.victimsTrained,
          victims_reused: s.victimsReused,
          releases_crafted: s.releasesCrafted,
          releases_reused: s.releasesReused,
          crafters_trained: s.craftersTrained,
          seconds: r.seconds,
        });
      }
    }),
  );
}
