// A crafting plan: everything that determines a release's bytes. Chunks made under one plan can be resumed,
// sharded and merged; the plan's digest guards against mixing chunks of different settings.
import { createHash } from "node:crypto";
import { Rng } from "../data/index.js";
import type { AuthorsAugment, DiffAugmentOptions, QuarterAugment } from "./diff-augment.js";

/** How a plan records the augmentation (see CraftPlan.augment). */
export type PlanAugment = AuthorsAugment | Omit<QuarterAugment, "kind">;

/** The plan's augmentation as the attack takes it. */
export function augmentOf(plan: Pick<CraftPlan, "augment">): DiffAugmentOptions | undefined {
  const a = plan.augment;
  if (!a) return undefined;
  return "kind" in a ? a : { kind: "quarter", ...a };
}

/** The plan's poison method: plans keep the key `recipe` they always had (see CraftPlan.recipe). */
export const planMethod = (plan: Pick<CraftPlan, "recipe">): string => plan.recipe;

/** The precision the plan's crafting models run in. */
export const precisionOf = (plan: Pick<CraftPlan, "precision">): "fp32" | "bf16" => plan.precision ?? "fp32";

/** The plan form of an augmentation (the inverse of augmentOf). */
export function planAugment(o: DiffAugmentOptions): PlanAugment {
  if (o.kind === "authors") return o;
  const { kind: _quarter, ...legacy } = o;
  return legacy;
}

export interface CrafterRef {
  path: string;
  model: string;
  sha256: string;
}

export interface CraftPlan {
  /**
   * The poison method (a name in the methods table). Plans and manifests keep the key `recipe` they always had,
   * so that plan digests, and with them resumable work directories and reused releases, stay valid.
   */
  recipe: string;
  /** Budget in grey levels (8 = 8/255). */
  eps: number;
  steps: number;
  /** PGD step in grey levels (tau * eps unless set absolutely). */
  stepSize: number;
  init: "randn" | "uniform" | "zero";
  restarts: number;
  /**
   * The differentiable augmentation inside the attack, or null. The quarter-side transform keeps the shape plans
   * always gave it (`{ maxShift, flip }`, no `kind`), so that earlier work directories resume under the same digest.
   */
  augment: PlanAugment | null;
  /** Images crafted together; also the unit of resuming and sharding. */
  chunkSize: number;
  /** Fraction of the training set poisoned (a seeded random subset); the rest is released unchanged. */
  budget: number;
  seed: number;
  permutation: number[];
  dataset: {
    spec: string;
    dataDir: string | null;
    subset: number | null;
    count: number;
    shape: [number, number, number];
  };
  crafters: CrafterRef[];
  /**
   * What the crafting models' forward passes compute in; absent means fp32 (so that fp32 plans keep the shape they
   * always had). Losses, perturbations, projection and quantisation are fp32 either way.
   */
  precision?: "bf16";
  /** The method's own settings (e.g. error-min's inner training), part of the digest. */
  extra: Record<string, number | string | boolean>;
}

/** Identifies the settings; crafting models count by content, not by where their files happen to be. */
export function planDigest(plan: CraftPlan): string {
  const identity = { ...plan, crafters: plan.crafters.map(({ model, sha256 }) => ({ model, sha256 })) };
  return createHash("sha256").update(JSON.stringify(identity)).digest("hex").slice(0, 16);
}

/** The poisoned indices, sorted: all of them for budget 1, else a seeded random subset. */
export function poisonedIndices(count: number, budget: number, seed: number): Int32Array {
  if (!(budget > 0 && budget <= 1)) throw new RangeError(`budget must be in (0, 1], got ${budget}`);
  const all = Int32Array.from({ length: count }, (_, i) => i);
  if (budget === 1) return all;
  const chosen = new Rng(seed, 7919).shuffle(all).slice(0, Math.round(budget * count));
  return chosen.sort();
}

/** Chunk k holds poisoned indices [k*size, (k+1)*size). */
export function chunkCount(poisoned: number, chunkSize: number): number {
  return Math.ceil(poisoned / chunkSize);
}

/** Shard i of n crafts chunks i, i+n, i+2n, ...: each a deterministic function of (plan, k). */
export function chunksOfShard(total: number, shard: { index: number; count: number }): number[] {
  const out: number[] = [];
  for (let k = shard.index; k < total; k += shard.count) out.push(k);
  return out;
}

export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index >= count) throw new RangeError(`--shard must be i/n with 0 <= i < n, got '${text}'`);
  return { index, count };
}

/** A seed for chunk k that does not depend on which shard or process crafts it. */
export function chunkSeed(seed: number, k: number): number {
  return (seed * 1_000_003 + k * 7_919 + 17) % 2 ** 48;
}

/** The seed of what a run makes before its chunks (ChunkedMethod.prepare): a chunk number no plan reaches. */
export const sharedSeed = (seed: number): number => chunkSeed(seed, 2 ** 31);
