// What an audit trains: a battery of defences for the main victim, further victim architectures without a
// defence (transfer), and for every such row its clean counterpart (the same victim, defence and seeds on the
// clean source), as conditions of the experiment layer so that their victims are keyed, recorded and resumed as
// the experiments' are.
import { isModelName, modelNames } from "../../models/index.js";
import type { Manifest } from "../../poison/index.js";
import { recipe } from "../../train/index.js";
import {
  type DefenseChoice,
  defenseSettingsOf,
  defenseSkipReason,
  describeDefense,
  makeDefense,
  parseDefense,
} from "../defenses/index.js";
import type { Condition, VictimSpec } from "../runner.js";

/**
 * The default battery: no defence; JPEG at falling qualities and bit-depth reduction (ISS's compressions);
 * PGD adversarial training at two radii; mixup, cutout, cutmix, Gaussian noise; grayscale where there is colour.
 */
export const AUDIT_DEFENSES = [
  "none",
  "jpeg:90",
  "jpeg:75",
  "jpeg:50",
  "jpeg:30",
  "jpeg:10",
  "bdr:2",
  "bdr:3",
  "adversarial:4",
  "adversarial:8",
  "mixup",
  "cutout",
  "cutmix",
  "noise",
  "grayscale",
] as const;

/**
 * Victim epochs by default. The default battery at one seed on 10k Fashion-MNIST images trains 30 SmallCNN(-BN)
 * victims; measured at one thread on 2 cores, an epoch on 10k images takes ~9 s (~22 s with JPEG's re-encoding,
 * ~41 s with PGD-5 adversarial training) plus ~4 s to evaluate the test split, ~11 minutes per epoch of the whole
 * battery: 4 epochs keep it under an hour.
 */
export const AUDIT_EPOCHS = 4;

/** The two victims CPU audits train: the crafting architecture of most releases, and one without batch norm. */
const CPU_VICTIMS = ["smallcnn-bn", "smallcnn"] as const;

/**
 * The main victim (every defence) and a transfer victim (no defence): the release's crafting architecture when it
 * is one of the small CPU victims, else SmallCNN-BN; the transfer victim is the other of SmallCNN-BN and SmallCNN.
 */
export function defaultVictims(manifest: Manifest): string[] {
  const crafter = manifest.plan.crafters[0]?.model;
  const main = CPU_VICTIMS.find((m) => m === crafter) ?? "smallcnn-bn";
  return [main, CPU_VICTIMS.find((m) => m !== main)!];
}

/** Checks victim architecture names; throws one line for an unknown one. */
export function checkVictims(victims: readonly string[]): void {
  if (victims.length === 0) throw new Error("--victims: no architecture given");
  for (const v of victims)
    if (!isModelName(v)) throw new Error(`unknown victim architecture '${v}' (${modelNames().join(", ")})`);
}

/** One row of the audit: a victim with a defence, trained on the release and (its counterpart) on the source. */
export interface AuditRowPlan {
  defense: DefenseChoice;
  victim: string;
  /** Words for the defence's settings. */
  settings: string;
  release: Condition;
  clean: Condition;
  /** Not run, for this reason (e.g. grayscale on grey images). */
  skip: string | null;
}

export interface BatteryOptions {
  /** "none" is added when missing. */
  defenses: readonly DefenseChoice[];
  /** The first trains with every defence, the others without one. */
  victims: readonly string[];
  epochs: number;
  /** Split the first n test images into the validation and scoring halves; null: the whole test split. */
  testSubset: number | null;
  channels: number;
  numClasses: number;
}

export function auditRows(o: BatteryOptions): AuditRowPlan[] {
  const [main, ...others] = [...new Set(o.victims)];
  // Each defence once, and "none" first: the plain victim is the reference of the others.
  const byLabel = new Map(o.defenses.map((d) => [d.label, d]));
  const none = byLabel.get("none") ?? parseDefense("none");
  byLabel.delete("none");
  const pairs: [string, DefenseChoice][] = [
    ...[none, ...byLabel.values()].map((d): [string, DefenseChoice] => [main!, d]),
    ...others.map((v): [string, DefenseChoice] => [v, none]),
  ];
  return pairs.map(([model, d]) => {
    const victim: VictimSpec = {
      model,
      recipe: recipe("fast", { epochs: o.epochs }),
      trainSubset: null,
      testSubset: o.testSubset,
      testSplit: "even-odd",
    };
    const skip = defenseSkipReason(d.name, o.channels);
    const cells = { defence: d.label, victim: model };
    const condition = (on: "release" | "clean"): Condition => ({
      id: `${model}/${d.label}/${on}`,
      cells: { ...cells, "trained on": on },
      release: null,
      victim,
      defense: {
        name: d.name,
        settings: defenseSettingsOf(d.name, d.settings),
        make: (seed) => makeDefense(d.name, d.settings, { seed, numClasses: o.numClasses }),
      },
      ...(skip ? { skip } : {}),
    });
    return {
      defense: d,
      victim: model,
      settings: describeDefense(d.name, d.settings),
      release: condition("release"),
      clean: condition("clean"),
      skip,
    };
  });
}
