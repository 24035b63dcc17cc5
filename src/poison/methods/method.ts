// What every poison method states about itself, in one place: the methods table (./index.ts) holds one of these
// per method, each in a small file of its own, and the pipeline, the CLI and the experiments read only these facts.
import type { z } from "zod";
import type { Dataset } from "../../data/index.js";
import type { Module } from "../../nn/index.js";
import type { Tensor } from "../../torch/index.js";
import type { BudgetNorm } from "../budget.js";
import type { ChunkSink, CraftRunOptions, CraftRunStats } from "../craft-run.js";
import type { Init } from "../pgd.js";
import type { CraftPlan } from "../plan.js";

/** PGD settings a method runs with unless told otherwise. */
export interface PgdDefaults {
  steps: number;
  /** Step size as a fraction of eps. */
  tau: number;
  init: Init;
}

/** A command-line flag for one of a method's own settings (a key of its settings schema). */
export interface MethodFlag {
  /** Commander's flag syntax, e.g. "--em-mode <mode>". */
  flags: string;
  /** The settings key it sets. */
  key: string;
  description: string;
  /** Parses the flag's text; the schema still validates the value. */
  parse?: (text: string) => unknown;
}

/** One chunk's batch, on the crafting device, and what the method may use to craft it. */
export interface ChunkInput {
  ds: Dataset;
  plan: CraftPlan;
  /** Frozen, eval-mode crafting models (none for methods that need none). */
  models: readonly Module[];
  /** Dataset indices of the chunk's images. */
  indices: Int32Array;
  /** [N,C,H,W] images in [0, 1] and their labels. */
  x: Tensor;
  y: Tensor;
  /** The same images as uint8 N,H,W,C bytes, when the caller has them (else read from `ds` if needed). */
  source?: Uint8Array;
  /** The perturbation budget and step in pixel units ([0, 1] images), as PGD takes them. */
  eps: number;
  stepSize: number;
}

/** What a method may make once for every chunk of a run, before the first: from the plan alone, never a chunk. */
export interface RunInput {
  ds: Dataset;
  plan: CraftPlan;
  models: readonly Module[];
  /** The images the plan poisons (dataset indices, in order). */
  poisoned: Int32Array;
  device: string;
  /** The perturbation budget and step in pixel units, as in ChunkInput. */
  eps: number;
  stepSize: number;
  /** Says what is being made (it may take a while before the first chunk). */
  log: (message: string) => void;
}

export interface ChunkOutput {
  /** Perturbation in pixel units, x's shape. */
  delta: Tensor;
  /** Per image: whether the method's aim was met (see `success`). */
  success: Uint8Array;
}

interface MethodFacts<S extends z.ZodObject> {
  /** The name on the command line, in plans and manifests. */
  readonly name: string;
  /** Who proposed it, for tables and help. */
  readonly citation: string;
  /** Crafted against trained `--crafter` models. */
  readonly needsCrafter: boolean;
  /** Trains a model of its own from scratch (its architecture: the `model` setting, `--crafter-model`). */
  readonly ownModel: boolean;
  /** Differentiable augmentation inside the attack by default (Fowl et al.); baselines run as published. */
  readonly augments: boolean;
  /** Differentiates a gradient of the crafting models' parameters (a double backward: not every precision can). */
  readonly secondOrder?: boolean;
  /** Has a per-image aim whose success it counts (an attack, or OPS's pixel change); random noise and LSP have none. */
  readonly attacks: boolean;
  /** Whether several PGD restarts mean anything for it. */
  readonly restartable: boolean;
  readonly defaults: PgdDefaults;
  /** How its perturbations are bounded under these settings (quantisation and verification hold it to this). */
  budget(settings: z.infer<S>): BudgetNorm;
  /** What a manifest's per-image `fooled` flag means for it: a progress field and a phrase. */
  readonly success: { short: string; long: string };
  /** Its own settings (a plan's `extra`), with their defaults. */
  readonly settings: S;
  readonly flags: readonly MethodFlag[];
}

/** Crafted chunk by chunk: each chunk's poisons depend only on the plan and the chunk number (shardable). */
export interface ChunkedMethod<S extends z.ZodObject = z.ZodObject> extends MethodFacts<S> {
  readonly chunked: true;
  /**
   * A tensor every chunk of the run shares (e.g. class-wise perturbations), made before the first chunk under its
   * own seed, so that a chunk's bytes do not depend on which chunks a process crafts; undefined when not needed.
   */
  prepare?(input: RunInput, settings: z.infer<S>): Tensor | undefined;
  craftChunk(input: ChunkInput, settings: z.infer<S>, shared?: Tensor): ChunkOutput;
}

/** Optimised over the whole poisoned set at once: it writes every chunk itself (no shards). */
export interface WholeSetMethod<S extends z.ZodObject = z.ZodObject> extends MethodFacts<S> {
  readonly chunked: false;
  craftAll(
    ds: Dataset,
    plan: CraftPlan,
    settings: z.infer<S>,
    store: ChunkSink,
    options: CraftRunOptions,
  ): Promise<CraftRunStats>;
}

export type PoisonMethod = ChunkedMethod | WholeSetMethod;

/** The budget norm of `method` under the settings `raw` (a plan's `extra`). */
export function budgetOf(method: PoisonMethod, raw: unknown): BudgetNorm {
  return method.budget(methodSettings(method, raw));
}

/** The method's settings from raw values (absent ones take their defaults), validated; errors name the key. */
export function methodSettings<S extends z.ZodObject>(method: { name: string; settings: S }, raw: unknown): z.infer<S> {
  const r = method.settings.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new RangeError(`${method.name}: invalid ${issue.path.join(".") || "settings"}: ${issue.message}`);
  }
  return r.data;
}
