// A queued run's record: what a worker acts on (the plan with its dataset, the crafting models by content,
// where the release goes, whether it may replace one, its format) and the digest that seals all of it. The
// record is stored twice (in Redis and as run.json in the run's shared directory) and its digest travels in
// every job of the run: a worker recomputes it from the run.json it reads, so a record changed after enqueuing
// (in either place) or a job made up for another record fails instead of being acted on.
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { z } from "zod";
import { type OutputFormat, parseSpec } from "../data/index.js";
import { type CraftPlan, chunkCount, methodOf, planDigest, planMethod, poisonedIndices } from "../poison/index.js";
import { canonicalDigest } from "../util/canonical-json.js";

export interface RunRecord {
  run: string;
  /** The plan's digest (planDigest): chunks and the release's manifest carry it. */
  digest: string;
  plan: CraftPlan;
  /** The run's directory: SHARED/RUN, with SHARED as the enqueuer resolved it (real path, no symlink in it). */
  dir: string;
  /** The release directory, a real path inside SHARED outside every run's directory; written by a worker. */
  out: string;
  format: OutputFormat;
  force: boolean;
  /** The crafting models in the plan's order; each file is crafterFile(dir, sha256). */
  crafters: { model: string; sha256: string }[];
  chunks: number;
  images: number;
  created: string;
}

const RUN_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
export const isRunName = (name: string): boolean => RUN_NAME.test(name);

export function checkRunName(name: string | undefined): string {
  if (name === undefined) throw new Error("--run NAME is required with --queue");
  if (!isRunName(name))
    throw new Error(`--run must be 1-64 letters, digits, '-' or '_' (starting with a letter or digit), got '${name}'`);
  return name;
}

/** Chunk results of the run: a ChunkStore work directory. */
export const chunkDir = (rec: Pick<RunRecord, "dir">): string => join(rec.dir, "chunks");

/** Where a run keeps its copy of a crafting model: named by content, inside the run's directory. */
export const crafterFile = (dir: string, sha256: string): string => join(dir, "crafters", `${sha256}.safetensors`);

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const Count = z.number().int().nonnegative();
const AugmentSchema = z.union([
  z.strictObject({
    kind: z.literal("authors"),
    shift: z.number(),
    flip: z.boolean(),
    fill: z.array(z.number()),
  }),
  z.strictObject({ maxShift: z.number(), flip: z.boolean() }),
]);
const PlanSchema = z.strictObject({
  recipe: z.string(),
  eps: z.number(),
  steps: Count,
  stepSize: z.number(),
  init: z.enum(["randn", "uniform", "zero"]),
  restarts: Count,
  augment: AugmentSchema.nullable(),
  chunkSize: z.number().int().positive(),
  budget: z.number(),
  seed: z.number(),
  permutation: z.array(Count),
  dataset: z.strictObject({
    spec: z.string(),
    dataDir: z.string().nullable(),
    subset: Count.nullable(),
    count: Count,
    shape: z.tuple([Count, Count, Count]),
  }),
  crafters: z.array(z.strictObject({ path: z.string(), model: z.string(), sha256: Sha256 })),
  precision: z.literal("bf16").optional(),
  extra: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])),
});
const RecordSchema = z.strictObject({
  run: z.string().regex(RUN_NAME),
  digest: z.string(),
  plan: PlanSchema,
  dir: z.string(),
  out: z.string(),
  format: z.enum(["same", "folder", "npy"]),
  force: z.boolean(),
  crafters: z.array(z.strictObject({ model: z.string(), sha256: Sha256 })),
  chunks: Count,
  images: Count,
  created: z.string(),
});

/** The digest that seals a record: sha256 of its canonical JSON, every field included. */
export const recordDigest = (rec: RunRecord): string => canonicalDigest(rec);

/**
 * A record read back (from Redis or run.json), checked to be one a `craft --queue` could have written: its
 * shape, its plan digest recomputed, its counts and crafting models those of the plan, its paths absolute and
 * where the layout puts them. What the files say (symlinks, other runs) is checked by checkRunPaths.
 */
export function parseRunRecord(text: string, where: string): RunRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${where}: not JSON (${(e as Error).message})`);
  }
  const parsed = RecordSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${where}: not a run record (${issue.path.join(".") || "top level"}: ${issue.message})`);
  }
  // The raw value, not zod's copy: the digest is over exactly what was stored.
  const rec = raw as RunRecord;
  const problem = recordProblem(rec);
  if (problem) throw new Error(`${where}: ${problem}`);
  return rec;
}

function recordProblem(rec: RunRecord): string | undefined {
  const { plan } = rec;
  if (planDigest(plan) !== rec.digest) return `its plan hashes to ${planDigest(plan)}, not the recorded ${rec.digest}`;
  if (!methodOf(planMethod(plan)).chunked) return `${planMethod(plan)} cannot be queued (not chunked)`;
  const dataPath = portabilityProblem(plan);
  if (dataPath) return dataPath;
  const images = poisonedIndices(plan.dataset.count, plan.budget, plan.seed).length;
  if (rec.images !== images || rec.chunks !== chunkCount(images, plan.chunkSize))
    return `${rec.images} images in ${rec.chunks} chunks, but the plan poisons ${images} in ${chunkCount(images, plan.chunkSize)}`;
  const same = (a: { model: string; sha256: string }, b: { model: string; sha256: string }) =>
    a.model === b.model && a.sha256 === b.sha256;
  if (rec.crafters.length !== plan.crafters.length || rec.crafters.some((c, k) => !same(c, plan.crafters[k]!)))
    return "its crafting models are not the plan's";
  for (const [what, p] of [
    ["directory", rec.dir],
    ["release", rec.out],
  ] as const)
    if (!isAbsolute(p) || resolve(p) !== p) return `its ${what} '${p}' is not an absolute, normalised path`;
  if (!rec.dir.endsWith(`${sep}${rec.run}`)) return `its directory ${rec.dir} is not SHARED/${rec.run}`;
  return releaseDirProblem(sharedOf(rec), rec.out, rec.run);
}

/** The shared root a record's run lives under. */
export const sharedOf = (rec: Pick<RunRecord, "dir" | "run">): string =>
  rec.dir.slice(0, rec.dir.length - rec.run.length - 1) || sep;

/**
 * Where a release may go, by its path alone: strictly inside the shared root and outside the run's own
 * directory (the filesystem check of other runs' directories is in shared-root.ts).
 */
export function releaseDirProblem(root: string, out: string, run: string): string | undefined {
  const rel = relative(root, out);
  if (rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel))
    return `the release ${out} is not inside the shared directory ${root}: queued releases are written there`;
  if (rel.split(sep)[0] === run) return `the release ${out} is inside the run's own directory ${join(root, run)}`;
  return undefined;
}

/** Workers on other machines find the dataset by the plan's paths: relative ones would not resolve there. */
export function portabilityProblem(plan: CraftPlan): string | undefined {
  for (const p of [parseSpec(plan.dataset.spec).path, plan.dataset.dataDir])
    if (p && !isAbsolute(p))
      return `dataset path '${p}' is relative: with --queue give an absolute path that every worker sees`;
  return undefined;
}
