// The units of work every experiment is made of, each done at most once per run directory:
// - the crafting model (crafters/NAME-DIGEST.safetensors, trained unless the file exists),
// - releases (releases/RECIPE-epsE-DIGEST/, written by writeRelease; reused when their manifest holds the
//   same plan; a killed crafting run resumes from the finished chunks in releases/ID.work/),
// - victims (recorded in results.json; a killed training resumes from its epoch checkpoint).
// Keys digest everything a unit depends on, so a changed setting makes new units instead of reusing stale ones.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { buildBatch, type Dataset, loadDataset, loadSplit, select, subset } from "../data/index.js";
import type { LoadedModel } from "../models/index.js";
import {
  type CrafterRef,
  type CraftPlan,
  craftingPrecision,
  craftRelease,
  type DiffAugmentKind,
  type Init,
  MANIFEST_FILE,
  type Manifest,
  makePlan,
  methodOf,
  obtainCrafter,
  planDigest,
  releaseSpec,
  runsModel,
  shiftPermutation,
} from "../poison/index.js";
import { noGrad, type Precision, resolvePrecision, scope } from "../torch/index.js";
import {
  fit,
  type Progress,
  type Recipe,
  recipe,
  silentProgress,
  specOf,
  stoppedAccuracy,
  testAccuracies,
} from "../train/index.js";
import type { AnyConfig } from "./config/index.js";
import type { BatchTransform } from "./defenses/index.js";
import { digestOf, type ReleaseUnit, type ResultsStore, type VictimUnit } from "./store.js";

/** What to craft: a poison method and its PGD settings (always at budget 1; see withBudget for lower budgets). */
export interface ReleaseSpec {
  method: string;
  eps: number;
  steps: number;
  tau: number;
  init: Init;
  restarts: number;
  augment: boolean;
  augmentKind?: DiffAugmentKind;
  chunkSize: number;
  extra: CraftPlan["extra"];
}

export interface VictimSpec {
  model: string;
  recipe: Recipe;
  /** Train on the first n images of the condition's training set; null: all of it. */
  trainSubset: number | null;
  testSubset: number | null;
  /**
   * "even-odd": the test split's even-indexed images validate (a defender stops at the epoch best on them) and
   * its odd-indexed images score, so the stopped accuracy never peeks at the images that score it. Absent: every
   * epoch is scored on the whole test split (testSubset), as the experiments always were.
   */
  testSplit?: "even-odd";
}

/** The test split's two interleaved halves: even indices to validate on, odd indices to score on. */
export function evenOddHalves(test: Dataset): { validation: Dataset; score: Dataset } {
  const half = (parity: number) =>
    Array.from({ length: Math.floor((test.count + 1 - parity) / 2) }, (_, k) => 2 * k + parity);
  return { validation: select(test, half(0)), score: select(test, half(1)) };
}

/** What a Runner reads of a config: the experiments' configs and the audit's settings both have it. */
export type RunnerConfig = Pick<
  AnyConfig,
  "dataset" | "dataDir" | "subset" | "seed" | "runs" | "device" | "precision"
> & {
  /** The crafting model, for runs that craft releases (an audit trains victims on a given one and has none). */
  crafter?: AnyConfig["crafter"];
};

/** One row of an experiment's table: a training set, a victim, maybe a defence; `runs` victims each. */
export interface Condition {
  /** Unique within the experiment, stable across runs (part of unit keys and CSV rows). */
  id: string;
  /** The experiment's own columns. */
  cells: Record<string, string | number>;
  /** The release trained on; null: the clean training set. */
  release: ReleaseSpec | null;
  /** Poisoned fraction of the release kept (see withBudget); default 1. */
  budget?: number;
  /** Train with other labels than y: the attack's pi(y), or the crafting model's prediction on each image. */
  labels?: "permuted" | "predicted";
  victim: VictimSpec;
  /** A defence in the training loop: its name and settings (part of the key) and its transform. */
  defense?: { name: string; settings: unknown; make: (seed: number) => BatchTransform | undefined };
  /** Not run, for this reason (shown in the table). */
  skip?: string;
}

export interface RunStats {
  craftersTrained: number;
  releasesCrafted: number;
  releasesReused: number;
  victimsTrained: number;
  victimsReused: number;
}

export interface LoadedRelease {
  id: string;
  dir: string;
  data: Dataset;
  unit: ReleaseUnit;
}

export class Runner {
  readonly stats: RunStats = {
    craftersTrained: 0,
    releasesCrafted: 0,
    releasesReused: 0,
    victimsTrained: 0,
    victimsReused: 0,
  };
  /** The full training split (the crafter's data) and the experiment's share of it. */
  readonly fullTrain: Dataset;
  readonly train: Dataset;
  readonly test: Dataset;
  readonly permutation: number[];
  #crafter: { model: LoadedModel; ref: CrafterRef } | undefined;
  #precision: Precision | undefined;
  #releases = new Map<string, LoadedRelease>();
  /** The even-odd halves of the last test set split, kept for the next victim (most share it). */
  #halves: { of: Dataset; validation: Dataset; score: Dataset } | undefined;

  constructor(
    readonly config: RunnerConfig,
    readonly store: ResultsStore,
    readonly progress: Progress = silentProgress,
    data?: { train: Dataset; test: Dataset },
  ) {
    const loaded = data ?? loadDataset(config.dataset, config.dataDir ? { dataDir: config.dataDir } : {});
    this.fullTrain = loaded.train;
    this.train = config.subset !== null ? subset(loaded.train, config.subset) : loaded.train;
    this.test = loaded.test;
    this.permutation = shiftPermutation(this.train.numClasses);
  }

  get dir(): string {
    return this.store.dir;
  }

  private get shape() {
    return specOf(this.train);
  }

  private get device(): string {
    return this.config.device ?? "cpu";
  }

  /** The precision resolved for the device ("auto": bf16 where it is native), once per run. */
  get precision(): Precision {
    this.#precision ??= resolvePrecision(this.config.precision, this.device);
    return this.#precision;
  }

  /** The crafting model: the configured file, or trained once into crafters/ (resumable, recorded). */
  async crafter(): Promise<LoadedModel> {
    if (this.#crafter) return this.#crafter.model;
    const c = this.config.crafter;
    if (!c) throw new Error("this run has no crafting model configured");
    if (c.path) {
      const { models } = await obtainCrafter({
        shape: this.shape,
        files: [c.path],
        model: c.model,
        device: this.device,
      });
      this.#crafter = {
        model: models[0]!,
        ref: { path: "crafter", model: models[0]!.info.model, sha256: models[0]!.sha256 },
      };
      return this.#crafter.model;
    }
    const r = recipe(c.recipe, c.epochs ? { epochs: c.epochs } : {});
    const data = c.subset !== null ? subset(this.fullTrain, Math.min(c.subset, this.fullTrain.count)) : this.fullTrain;
    const key = `crafter/${c.model}#${digestOf({
      dataset: this.config.dataset,
      dataDir: this.config.dataDir,
      images: data.count,
      model: c.model,
      recipe: r,
      seed: this.config.seed,
    })}`;
    const path = join(this.dir, "crafters", `${c.model}-${key.split("#")[1]}.safetensors`);
    if (!existsSync(path))
      this.progress.log(`training the crafting model: ${c.model}, ${r.epochs} epochs on ${data.count} images`);
    const got = await obtainCrafter({
      shape: this.shape,
      model: c.model,
      train: { path, data, recipe: r, seed: this.config.seed, name: "crafter", resumable: true },
      device: this.device,
      progress: this.progress,
    });
    const model = got.models[0]!;
    this.#crafter = { model, ref: got.refs[0]! };
    if (got.trained) {
      this.stats.craftersTrained++;
      this.store.record({
        kind: "crafter",
        key,
        path,
        model: c.model,
        epochs: r.epochs,
        images: data.count,
        sha256: model.sha256,
        seconds: got.seconds,
        finished: new Date().toISOString(),
      });
    }
    return model;
  }

  private async planOf(spec: ReleaseSpec): Promise<CraftPlan> {
    const method = methodOf(spec.method);
    const needsCrafter = method.needsCrafter;
    if (needsCrafter) await this.crafter();
    const crafters: CrafterRef[] = needsCrafter && this.#crafter ? [this.#crafter.ref] : [];
    return makePlan(
      {
        method: spec.method,
        eps: spec.eps,
        steps: spec.steps,
        tau: spec.tau,
        init: spec.init,
        restarts: spec.restarts,
        augment: spec.augment,
        augmentKind: spec.augmentKind,
        chunkSize: spec.chunkSize,
        budget: 1,
        seed: this.config.seed,
        permutation: this.permutation,
        settings: spec.extra,
        // The run's precision for every method that runs a model (error-min's own included); the others have none.
        precision: runsModel(method) ? craftingPrecision(method, this.config.precision, this.device) : "fp32",
        dataset: { spec: this.config.dataset, dataDir: this.config.dataDir, subset: this.config.subset },
      },
      this.train,
      crafters,
    );
  }

  /** The release for `spec`, crafted unless already written under the same plan. */
  async release(spec: ReleaseSpec): Promise<LoadedRelease> {
    const plan = await this.planOf(spec);
    const digest = planDigest(plan);
    const id = `${spec.method}-eps${spec.eps}-${digest}`;
    const cached = this.#releases.get(id);
    if (cached) return cached;
    const dir = join(this.dir, "releases", id);
    const key = `release/${id}`;
    const manifestPath = join(dir, MANIFEST_FILE);
    let manifest: Manifest | undefined;
    if (existsSync(manifestPath)) {
      const m = JSON.parse(readFileSync(manifestPath, "utf-8")) as Manifest;
      if (m.plan_digest === digest) manifest = m;
    }
    if (manifest) {
      this.stats.releasesReused++;
      this.progress.log(`release ${id}: reused`);
    } else {
      manifest = await this.craft(plan, dir);
      this.stats.releasesCrafted++;
    }
    const s = manifest.summary;
    let unit = this.store.get(key, "release");
    if (!unit) {
      unit = {
        kind: "release",
        key,
        dir,
        method: spec.method,
        eps: spec.eps,
        steps: spec.steps,
        plan_digest: digest,
        count: s.count,
        poisoned: s.poisoned,
        max_linf: s.max_linf,
        mean_l2: s.mean_l2,
        attack_success: s.attack_success,
        seconds: manifest.crafting_seconds,
        finished: new Date().toISOString(),
      };
      this.store.record(unit);
    }
    const data = loadSplit(releaseSpec(plan, "same", dir), "train");
    const loaded = { id, dir, data, unit };
    this.#releases.set(id, loaded);
    return loaded;
  }

  private async craft(plan: CraftPlan, dir: string): Promise<Manifest> {
    const models = plan.crafters.length > 0 ? [await this.crafter()] : [];
    const { manifest } = await craftRelease({
      plan,
      source: this.train,
      test: this.test,
      models,
      out: dir,
      force: true,
      progress: this.progress,
      device: this.device,
    });
    return manifest!;
  }

  /**
   * The crafting model's prediction on every image of `data` (a release): the paper's adversarial labels. The
   * model sees the images as the attack did, [0, 1] pixels without normalisation.
   */
  async predictions(data: Dataset): Promise<Int32Array> {
    const { model } = await this.crafter();
    model.eval();
    const out = new Int32Array(data.count);
    const batch = 512;
    for (let start = 0; start < data.count; start += batch) {
      const indices = Int32Array.from({ length: Math.min(batch, data.count - start) }, (_, i) => start + i);
      const predicted = noGrad(() =>
        scope(() => {
          const b = buildBatch(data, indices, { device: this.device });
          return model.forward(b.x).argmax(1).toTypedArray();
        }),
      );
      out.set(Int32Array.from(predicted as ArrayLike<number>, Number), start);
    }
    return out;
  }

  /** The key of run `run` (1-based) of a condition: digests its data, victim, defence and seed. */
  victimKey(c: Condition, run: number, releaseId: string | null): string {
    const seed = this.victimSeed(run);
    const digest = digestOf({
      dataset: this.config.dataset,
      dataDir: this.config.dataDir,
      images: this.train.count,
      release: releaseId,
      budget: c.budget ?? 1,
      permutedLabels: c.labels === "permuted",
      // Keys of the labellings that came first stay as they were.
      ...(c.labels === "predicted" ? { predictedLabels: true } : {}),
      victim: c.victim,
      defense: c.defense ? { name: c.defense.name, settings: c.defense.settings } : null,
      seed,
      // fp32 victims keep the keys they had before precisions existed.
      ...(this.precision === "fp32" ? {} : { precision: this.precision }),
    });
    return `victim/${c.id}/run${run}#${digest}`;
  }

  victimSeed(run: number): number {
    return this.config.seed + run;
  }

  /** Trains run `run` of `c` on `data` unless it is recorded; returns its record. */
  async victim(c: Condition, run: number, releaseId: string | null, data: Dataset): Promise<VictimUnit> {
    const key = this.victimKey(c, run, releaseId);
    const done = this.store.get(key, "victim");
    if (done) {
      this.stats.victimsReused++;
      return done;
    }
    const seed = this.victimSeed(run);
    const trainSet = c.victim.trainSubset !== null ? subset(data, Math.min(c.victim.trainSubset, data.count)) : data;
    const test =
      c.victim.testSubset !== null ? subset(this.test, Math.min(c.victim.testSubset, this.test.count)) : this.test;
    let validationSet: Dataset | undefined;
    let testSet = test;
    if (c.victim.testSplit === "even-odd") {
      if (this.#halves?.of !== test) this.#halves = { of: test, ...evenOddHalves(test) };
      ({ validation: validationSet, score: testSet } = this.#halves);
    }
    const workDir = join(this.dir, "victims", key.split("#")[1]!);
    mkdirSync(workDir, { recursive: true });
    const transform = c.defense?.make(seed);
    const label = `${c.id} run ${run}/${this.config.runs}`;
    const t0 = performance.now();
    const r = await fit(c.victim.model, trainSet, {
      recipe: c.victim.recipe,
      seed,
      testSet,
      validationSet,
      checkpoint: join(workDir, "checkpoint.safetensors"),
      resume: true,
      progress: this.progress,
      label,
      batchTransform: transform,
      device: this.device,
      precision: this.precision,
    });
    r.model.dispose();
    const last = r.history[r.history.length - 1];
    const unit: VictimUnit = {
      kind: "victim",
      key,
      condition: c.id,
      run,
      seed,
      model: c.victim.model,
      epochs: c.victim.recipe.epochs,
      train_images: trainSet.count,
      test_images: testSet.count,
      ...testAccuracies(r.history),
      ...(validationSet ? { ...stoppedAccuracy(r.history), validation_images: validationSet.count } : {}),
      train_acc: last?.trainAcc ?? Number.NaN,
      history: r.history,
      seconds: (performance.now() - t0) / 1000,
      finished: new Date().toISOString(),
    };
    this.store.record(unit);
    this.stats.victimsTrained++;
    rmSync(workDir, { recursive: true, force: true });
    if (readdirSync(join(this.dir, "victims")).length === 0) rmSync(join(this.dir, "victims"), { recursive: true });
    return unit;
  }

  dispose(): void {
    this.#crafter?.model.model.dispose();
    this.#crafter = undefined;
  }
}
