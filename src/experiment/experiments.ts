// The six experiments as lists of conditions (table rows) over the shared units of work, with how each
// is presented: its columns, headline numbers and notes.
import { type BudgetNorm, budgetOf, methodOf, planEps } from "../poison/index.js";
import { formatPercent, type HeadlineStat } from "../report/index.js";
import { recipe } from "../train/index.js";
import { type ConfigOf, type ExperimentName, type Labeling, METHOD_BLOCKS } from "./config/index.js";
import {
  type DefenseName,
  defenseSettingsOf,
  defenseSkipReason,
  describeDefense,
  makeDefense,
} from "./defenses/index.js";
import type { Condition, ReleaseSpec, VictimSpec } from "./runner.js";
import type { SummaryRow } from "./store.js";

interface DataShape {
  count: number;
  channels: number;
  numClasses: number;
}

export interface ExperimentDef<N extends ExperimentName> {
  title: string;
  /** What the experiment measures, in a sentence. */
  question: string;
  columns: string[];
  conditions(c: ConfigOf<N>, data: DataShape): Condition[];
  headline(rows: SummaryRow[]): HeadlineStat[];
  notes(c: ConfigOf<N>, data: DataShape): string[];
}

type VictimSettings = {
  model: string;
  recipe: string;
  epochs?: number | null;
  lr?: number | null;
  batchSize?: number | null;
};

const orUndefined = <T>(v: T | null | undefined): T | undefined => (v === null ? undefined : v);

export function victimSpec(v: VictimSettings, trainSubset: number | null, testSubset: number | null): VictimSpec {
  return {
    model: v.model,
    recipe: recipe(v.recipe, {
      epochs: orUndefined(v.epochs),
      lr: orUndefined(v.lr),
      batchSize: orUndefined(v.batchSize),
    }),
    trainSubset,
    testSubset,
  };
}

type PoisonSettings = ConfigOf<"methods">["poison"];

function adversarialRelease(p: Omit<PoisonSettings, "eps">, eps: number, method: string = p.method): ReleaseSpec {
  return {
    method,
    eps,
    steps: p.steps,
    tau: p.tau,
    init: p.init,
    restarts: p.restarts,
    augment: p.augment,
    augmentKind: p.augmentKind,
    chunkSize: p.chunkSize,
    extra: {},
  };
}

const epsLabel = (eps: number) => `${eps}/255`;

/** The budget column: eps (L-inf), eps in L2 (the ball of that RMS), or one pixel. */
function budgetLabel(norm: BudgetNorm, eps: number): string {
  if (norm === "l0") return "L0 = 1 pixel";
  return norm === "l2" ? `${epsLabel(eps)} (L2 ball)` : epsLabel(eps);
}
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** Headline: the clean reference against the condition `id` (or the lowest accuracy). */
function cleanVersus(rows: SummaryRow[], cleanId: string, id?: string): HeadlineStat[] {
  const done = rows.filter((r) => r.test_acc_mean !== null);
  const clean = done.find((r) => r.condition === cleanId);
  const others = done.filter((r) => r.condition !== cleanId);
  const poisoned =
    others.find((r) => r.condition === id) ??
    others.reduce<SummaryRow | undefined>((m, r) => (!m || r.test_acc_mean! < m.test_acc_mean! ? r : m), undefined);
  const stat = (label: string, r: SummaryRow, tone: "good" | "bad"): HeadlineStat => ({
    label,
    value: formatPercent(r.test_acc_mean!),
    tone,
    detail:
      `final clean test accuracy, mean of ${r.runs} victim${r.runs === 1 ? "" : "s"}; ` +
      `peak ${formatPercent(r.peak_test_acc_mean ?? Number.NaN)} (best epoch)`,
  });
  return [
    ...(clean ? [stat("victims on clean data", clean, "good")] : []),
    ...(poisoned ? [stat(`victims on: ${poisoned.condition}`, poisoned, "bad")] : []),
  ];
}

const methods: ExperimentDef<"methods"> = {
  title: "poisoning methods compared",
  question: "How well does each poison stop a network from learning the data?",
  columns: ["method", "eps", "steps"],
  conditions(c) {
    const victim = victimSpec(c.victim, null, c.testSubset);
    const p = c.poison;
    // The baselines' config blocks: their PGD steps and step size (the method's own when absent), and the
    // method's own settings.
    const blocks: Record<string, { steps?: number; tau?: number } & Record<string, unknown>> = Object.fromEntries(
      Object.entries(METHOD_BLOCKS).map(([m, key]) => [m, c[key]]),
    );
    const spec = (m: string): ReleaseSpec | null => {
      if (m === "clean") return null;
      const method = methodOf(m);
      if (method.augments) return adversarialRelease(p, p.eps, m);
      // A method with no attack and no block of its own (random noise): the common poison's settings, no steps.
      if (!method.attacks && blocks[m] === undefined)
        return { ...adversarialRelease(p, p.eps, m), steps: 0, augment: false };
      const { steps = method.defaults.steps, tau = method.defaults.tau, ...own } = blocks[m] ?? {};
      return {
        method: m,
        // As the plan records it (255 for an L0 budget).
        eps: planEps(budgetOf(method, own), p.eps),
        steps,
        tau,
        init: method.defaults.init,
        restarts: 1,
        augment: false,
        chunkSize: p.chunkSize,
        extra: own as ReleaseSpec["extra"],
      };
    };
    return c.methods.map((m) => {
      const release = spec(m);
      return {
        id: m,
        cells: {
          method: m,
          eps: release ? budgetLabel(budgetOf(methodOf(m), release.extra), p.eps) : "–",
          steps: !release || release.steps === 0 ? "–" : m === "error-min" ? `${release.steps}/round` : release.steps,
        },
        release,
        victim,
      };
    });
  },
  headline: (rows) => cleanVersus(rows, "clean", "targeted"),
  notes(c) {
    const e = c.errorMin;
    return [
      `random: uniform noise in the eps ball. error-min (Huang et al. 2021): ${e.mode}-wise min-min noise, a fresh ` +
        `${e.model} trained ${plural(e.trainSteps, "step")} per round, ${plural(e.steps, "PGD step")} of ${e.tau} eps per ` +
        `round, at most ${plural(e.maxRounds, "round")} (stop above ${100 * e.stopAcc}% accuracy on the noisy data). ` +
        `tensorclog (Shen et al. 2019): ${plural(c.tensorclog.steps, "PGD step")} minimising the crafting model's ` +
        `gradient norm per batch of ${c.tensorclog.batchSize}. lsp (Yu et al. 2022): ${c.lsp.mode}-wise synthetic ` +
        `noise from linearly separable class clusters (class_sep ${c.lsp.classSep}) on ${c.lsp.patchSize}-pixel patches, ` +
        `scaled to the L2 ball of RMS eps${c.lsp.norm === "linf" ? " and clipped to the eps L-inf ball" : ""}. ops (Wu et al. ` +
        "2023): one pixel per class set to 0 or 1, the position and value maximising mean/std of the change over the " +
        "class (L0 = 1; no eps bound). untargeted/targeted (Fowl et al. 2021): " +
        `${plural(c.poison.steps, "PGD step")} of ${c.poison.tau} eps against the crafting model, with ` +
        `${c.poison.augment ? "" : "no "}differentiable shift+flip; targeted pushes class y toward y+1 mod C.`,
    ];
  },
};

const epsExperiment: ExperimentDef<"eps"> = {
  title: "poison strength against the budget eps",
  question: "How does the victim's clean accuracy fall as the perturbation budget grows?",
  columns: ["eps"],
  conditions(c) {
    const victim = victimSpec(c.victim, null, c.testSubset);
    return [
      ...(c.cleanReference ? [{ id: "clean", cells: { eps: "0 (clean)" }, release: null, victim }] : []),
      ...[...new Set(c.eps)].map((eps) => ({
        id: `eps${eps}`,
        cells: { eps: epsLabel(eps) },
        release: adversarialRelease(c.poison, eps),
        victim,
      })),
    ];
  },
  headline: (rows) => cleanVersus(rows, "clean"),
  notes: (c) => [
    `Every release: ${c.poison.method} poisons, ${c.poison.steps} PGD steps of ${c.poison.tau} eps, on all training images.`,
  ],
};

const budget: ExperimentDef<"budget"> = {
  title: "poisoned fraction of the training set",
  question: "How much of the training set must be poisoned?",
  columns: ["budget", "poisoned images"],
  conditions(c, data) {
    const victim = victimSpec(c.victim, null, c.testSubset);
    const release = adversarialRelease(c.poison, c.poison.eps);
    return [...new Set(c.budgets)].map((b) => ({
      id: `budget${b}`,
      cells: { budget: `${+(100 * b).toFixed(1)}%`, "poisoned images": Math.round(b * data.count) },
      release: b > 0 ? release : null,
      budget: b,
      victim,
    }));
  },
  headline: (rows) => cleanVersus(rows, "budget0", "budget1"),
  notes: (c) => [
    `One ${c.poison.method} release at eps ${c.poison.eps}/255 is crafted for all images; the training set of budget b ` +
      `keeps the poisoned image at the indices \`advpoison craft --budget b --seed ${c.seed}\` would poison ` +
      "(poisonedIndices) and the clean image elsewhere. An image's PGD does not depend on which others are poisoned " +
      "(frozen eval-mode crafting model, per-image losses), so this equals separate crafting runs in distribution; the " +
      "bytes differ only through the random start and augmentation draws, which are seeded per chunk.",
  ],
};

const transfer: ExperimentDef<"transfer"> = {
  title: "transfer to other victim architectures",
  question: "Do poisons crafted on one architecture stop others from learning?",
  columns: ["victim", "trained on", "epochs", "images"],
  conditions(c, data) {
    const release = adversarialRelease(c.poison, c.poison.eps);
    return c.victims.flatMap((v) => {
      const settings: VictimSettings = {
        model: v.model,
        recipe: v.recipe ?? c.victim.recipe,
        epochs: v.epochs === undefined ? c.victim.epochs : v.epochs,
        lr: v.lr === undefined ? c.victim.lr : v.lr,
        batchSize: v.batchSize === undefined ? c.victim.batchSize : v.batchSize,
      };
      const spec = victimSpec(settings, v.subset ?? null, v.testSubset === undefined ? c.testSubset : v.testSubset);
      const images = Math.min(spec.trainSubset ?? data.count, data.count);
      const cells = (on: string) => ({ victim: v.model, "trained on": on, epochs: spec.recipe.epochs, images });
      return [
        ...(c.cleanReference
          ? [{ id: `${v.model}/clean`, cells: cells("clean data"), release: null, victim: spec }]
          : []),
        { id: `${v.model}/poisoned`, cells: cells("release"), release, victim: spec },
      ];
    });
  },
  headline(rows) {
    // The first architecture's clean and poisoned victims (the others may be trained far less).
    const model = rows[0]?.condition.split("/")[0];
    return cleanVersus(rows, `${model}/clean`, `${model}/poisoned`);
  },
  notes(c, data) {
    const small = c.victims.filter((v) => (v.subset ?? data.count) < data.count || v.epochs !== undefined);
    return [
      `Poisons crafted once on ${c.crafter.path ?? c.crafter.model}; each victim architecture trains from scratch on the release ` +
        "(and, for reference, on the clean images).",
      ...(small.length
        ? [
            `Scaled down for CPUs: ${small
              .map(
                (v) =>
                  `${v.model} trains ${v.epochs ?? c.victim.epochs ?? "the recipe's"} epochs on ${v.subset ?? data.count} images` +
                  (v.testSubset ? `, tested on ${v.testSubset} test images` : ""),
              )
              .join("; ")} (slow at full resolution on a CPU), so their accuracies are low even on clean data.`,
          ]
        : []),
    ];
  },
};

const defenses: ExperimentDef<"defenses"> = {
  title: "defences against the poison",
  question: "Do common training-time defences let a victim learn from the release?",
  columns: ["defence", "settings", "trained on"],
  conditions(c, data) {
    const victim = victimSpec(c.victim, null, c.testSubset);
    const release = adversarialRelease(c.poison, c.poison.eps);
    const settings = {
      ...c.defense,
      adversarial: { ...c.defense.adversarial, eps: c.defense.adversarial.eps ?? c.poison.eps },
    };
    const cond = (name: DefenseName): Condition => {
      const skip = defenseSkipReason(name, data.channels);
      const own = defenseSettingsOf(name, settings);
      return {
        id: `defense-${name}`,
        cells: { defence: name, settings: describeDefense(name, settings), "trained on": "release" },
        release,
        victim,
        defense: {
          name,
          settings: own,
          make: (seed) => makeDefense(name, settings, { seed, numClasses: data.numClasses }),
        },
        ...(skip ? { skip } : {}),
      };
    };
    return [
      ...(c.cleanReference
        ? [
            {
              id: "clean",
              cells: { defence: "none", settings: "no defence", "trained on": "clean data" },
              release: null,
              victim,
            },
          ]
        : []),
      ...[...new Set(c.defenses)].map(cond),
    ];
  },
  headline: (rows) => cleanVersus(rows, "clean", "defense-none"),
  notes: (c, data) => [
    "Each defence transforms every training batch of the victim (train()'s batchTransform hook); the victim is " +
      "tested on the clean test set. Adversarial training crafts untargeted PGD examples against the victim at every " +
      "step, which costs (steps + 1) forward-backward passes per batch.",
    ...(c.defenses.includes("grayscale") && data.channels === 1
      ? ["grayscale: skipped, the images have one channel already, so it would change nothing."]
      : []),
  ],
};

const LABEL_CELLS: Record<Labeling, string> = {
  original: "y (original)",
  permuted: "π(y) = y+1 mod C",
  predicted: "the crafting model's prediction",
};

const labels: ExperimentDef<"labels"> = {
  title: "original against adversarial labels",
  question:
    "Fowl et al.: the release is unlearnable with its labels y, yet learnable with adversarial labels. Is it, and " +
    "how does that depend on how often the attack reached its target?",
  columns: ["eps", "steps", "trained on", "labels"],
  conditions(c) {
    const victim = victimSpec(c.victim, null, c.testSubset);
    const sweep = (c.sweepEps.length ? c.sweepEps : [c.poison.eps]).flatMap((eps) =>
      (c.sweepSteps.length ? c.sweepSteps : [c.poison.steps]).map((steps) => ({ eps, steps })),
    );
    const single = sweep.length === 1 && sweep[0]!.eps === c.poison.eps && sweep[0]!.steps === c.poison.steps;
    return [
      ...(c.cleanReference
        ? [
            {
              id: "clean",
              cells: { eps: "–", steps: "–", "trained on": "clean data", labels: "y" },
              release: null,
              victim,
            },
          ]
        : []),
      ...sweep.flatMap(({ eps, steps }) =>
        [...new Set(c.labels)].map((l) => ({
          // The ids of the poison's own setting are the ones this experiment always had.
          id: `${single ? "" : `eps${eps}-steps${steps}/`}${l === "original" ? "release-y" : l === "permuted" ? "release-pi" : "release-predicted"}`,
          cells: { eps: epsLabel(eps), steps, "trained on": "release", labels: LABEL_CELLS[l] },
          release: { ...adversarialRelease(c.poison, eps), steps },
          ...(l === "original" ? {} : { labels: l }),
          victim,
        })),
      ),
    ];
  },
  headline: (rows) => cleanVersus(rows, "clean"),
  notes: () => [
    "Targeted perturbations carry features of the target class pi(y). Relabelling the release in memory with pi(y), " +
      "or with what the crafting model predicts on each poisoned image (the paper's adversarial labels), turns it " +
      "into a training set whose perturbations agree with its labels. The paper finds victims trained that way reach " +
      "high accuracy on the clean test set (scored against the true labels y), while those trained with y fail. " +
      "The attack success column says how many poisons the crafting model put into their target class.",
  ],
};

export const EXPERIMENTS: { [N in ExperimentName]: ExperimentDef<N> } = {
  methods,
  eps: epsExperiment,
  budget,
  transfer,
  defenses,
  labels,
};
