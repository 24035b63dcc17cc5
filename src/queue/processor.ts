// The sandboxed processor: BullMQ runs it in a child process of the worker, so that the worker's own event
// loop keeps renewing the job's lock while libtorch computes here. The child lives on between jobs, and so
// do the run's dataset and crafting models: the next chunk of the same run starts crafting at once.
import { type SandboxedJob, UnrecoverableError } from "bullmq";
import type { Dataset } from "../data/index.js";
import type { Module } from "../nn/index.js";
import {
  ChunkStore,
  checkRuntime,
  craftChunks,
  loadCrafters,
  methodOf,
  planDatasets,
  planMethod,
  precisionOf,
  sharedOfRun,
} from "../poison/index.js";
import type { Tensor } from "../torch/index.js";
import type { Progress } from "../train/index.js";
import { assembleRelease, type ReleaseJobResult } from "./assemble.js";
import { connectOnce, parseRedisUrl } from "./connection.js";
import { CHUNK_JOB, type ChunkJobData, type ChunkJobResult, RELEASE_JOB, type ReleaseJobData } from "./jobs.js";
import { DEVICE_ENV, QUEUE_ENV, SHARED_ENV } from "./processor-env.js";
import { checkSealed, runOfJob } from "./run-check.js";
import { chunkDir, crafterFile, type RunRecord } from "./run-record.js";
import { RunStore } from "./run-store.js";

const device = process.env[DEVICE_ENV] || "cpu";
/** The worker's --shared root, a real path: the only runs this child acts on. */
const root = process.env[SHARED_ENV] ?? "";

interface Loaded {
  digest: string;
  rec: RunRecord;
  train: Dataset;
  models: Module[];
  store: ChunkStore;
  /** What every chunk of the run shares (sharedOfRun), made on the run's first chunk job. */
  shared?: Tensor | undefined;
}
let loaded: Loaded | null = null;

let runs: Promise<RunStore> | undefined;
/** The queue's run records, through a connection of this child's own (opened on first use). */
function queueRuns(): Promise<RunStore> {
  runs ??= connectOnce(parseRedisUrl(process.env[QUEUE_ENV] ?? "")).then(
    (redis) => new RunStore(redis),
    (e: unknown) => {
      // Tried again by the next job (this one is retried as usual).
      runs = undefined;
      throw e;
    },
  );
  return runs;
}

/**
 * The record the job may act on: its run.json under the worker's root, sealed by the job's digest, and the
 * same record as Redis holds. Anything else is a job or record changed after enqueuing (or made up): the job
 * fails at once, without retries, naming what did not match.
 */
async function trustedRun(data: ReleaseJobData): Promise<RunRecord> {
  const store = await queueRuns();
  try {
    const rec = runOfJob(data, root);
    const stored = await store.get(rec.run);
    if (!stored) throw new Error(`run '${rec.run}' has no record on the queue`);
    checkSealed(stored, data.digest, `the queue's record of run '${rec.run}'`, "the job");
    return rec;
  } catch (e) {
    throw new UnrecoverableError(`refused: ${(e as Error).message}`);
  }
}

/** The run's record, data and crafting models, verified against the job; kept while jobs stay in the run. */
async function load(data: ChunkJobData): Promise<Loaded> {
  if (loaded?.digest === data.digest && loaded.rec.dir === data.dir) return loaded;
  for (const m of loaded?.models ?? []) m.dispose();
  loaded?.shared?.dispose();
  loaded = null;
  const rec = await trustedRun(data);
  // A precision this worker's device cannot run the method in fails the job before anything is loaded.
  checkRuntime(methodOf(planMethod(rec.plan)), precisionOf(rec.plan), device);
  // The models first: a missing or damaged file fails the job before the dataset is read. Frozen in the plan's
  // precision, as a local craft freezes them (craftRelease).
  const [height, , channels] = rec.plan.dataset.shape;
  const shape = { inChannels: channels, numClasses: rec.plan.permutation.length, imageSize: height };
  const files = rec.crafters.map((c) => ({ path: crafterFile(rec.dir, c.sha256), model: c.model, sha256: c.sha256 }));
  const models: Module[] = loadCrafters(files, shape, { precision: precisionOf(rec.plan), device }).map((c) => c.model);
  try {
    const { train } = planDatasets(rec.plan);
    const store = ChunkStore.read(chunkDir(rec));
    if (store.digest !== rec.digest)
      throw new Error(`${store.dir} holds chunks of plan ${store.digest}, not ${rec.digest}`);
    loaded = { digest: data.digest, rec, train, models, store };
    return loaded;
  } catch (e) {
    for (const m of models) m.dispose();
    throw e;
  }
}

/** craftChunks' progress, as the job's progress (BullMQ relays it to the worker, which stores it). */
function jobProgress(job: SandboxedJob): Progress {
  const send = (value: Record<string, string | number>) => void job.updateProgress(value).catch(() => {});
  return {
    start: (_label, total) => {
      send({ done: 0, total });
      return { update: (done, fields = {}) => send({ done, total, ...fields }), finish: () => {} };
    },
    log: () => {},
  };
}

async function chunkJob(job: SandboxedJob<ChunkJobData>): Promise<ChunkJobResult> {
  const { chunk } = job.data;
  const ctx = await load(job.data);
  if (!("shared" in ctx)) ctx.shared = sharedOfRun(ctx.train, ctx.rec.plan, ctx.models, device);
  const stats = await craftChunks(ctx.train, ctx.rec.plan, ctx.models, ctx.store, [chunk], {
    progress: jobProgress(job),
    device,
    shared: ctx.shared,
  });
  const r = ctx.store.load(chunk);
  return {
    chunk,
    images: r.indices.length,
    fooled: r.success.reduce((a, b) => a + b, 0),
    seconds: r.seconds,
    crafted: stats.chunksDone === 1,
  };
}

async function releaseJob(job: SandboxedJob<ReleaseJobData>): Promise<ReleaseJobResult> {
  return assembleRelease(await trustedRun(job.data));
}

export default async function processJob(job: SandboxedJob<ChunkJobData | ReleaseJobData>): Promise<unknown> {
  if (job.name === CHUNK_JOB) return chunkJob(job as SandboxedJob<ChunkJobData>);
  if (job.name === RELEASE_JOB) return releaseJob(job);
  throw new Error(`unknown job '${job.name}' on the advpoison queue`);
}

// A child whose worker was killed has no one to report to: stop rather than craft on for nobody.
process.on("disconnect", () => process.exit(1));
