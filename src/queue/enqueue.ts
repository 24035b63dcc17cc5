// `craft --queue`: stores a run (its plan, its crafting models copied to the shared directory, run.json) and
// adds its flow, one chunk job per chunk under a release job, then returns the run's status at once.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { FlowProducer, Queue } from "bullmq";
import type { Redis } from "ioredis";
import { type OutputFormat, parseSpec } from "../data/index.js";
import { ChunkStore, type CraftPlan, chunkCount, methodOf, planDigest, poisonedIndices } from "../poison/index.js";
import { writeFileAtomic } from "../util/atomic.js";
import { connectOnce, parseRedisUrl } from "./connection.js";
import { CHUNK_JOB, chunkJobId, QUEUE_NAME, RELEASE_JOB, RETRIES, releaseJobId } from "./jobs.js";
import { checkRunName, chunkDir, type RunRecord, RunStore, writeRunFile } from "./run-store.js";
import { type RunStatus, runStatus } from "./status.js";

export interface EnqueueRequest {
  queue: string;
  run?: string;
  shared?: string;
  /** Refused: the queue hands out every chunk; shards are for batch jobs without one. */
  shard?: string;
  out: string;
  format: OutputFormat;
  force: boolean;
  plan: CraftPlan;
  /** The crafting models' files, in the plan's order. */
  crafterFiles: readonly string[];
}

export async function enqueueCraft(req: EnqueueRequest): Promise<RunStatus> {
  const target = parseRedisUrl(req.queue);
  const run = checkRunName(req.run);
  if (!req.shared) throw new Error("--shared DIR is required with --queue: a directory every worker reads and writes");
  if (req.shard) throw new Error("--shard and --queue exclude each other: the queue hands out every chunk");
  if (!methodOf(req.plan.recipe).chunked)
    throw new Error(
      `${req.plan.recipe} cannot be queued: it optimises all poisoned images together, not chunk by chunk`,
    );
  checkPortable(req.plan);
  const wanted = { digest: planDigest(req.plan), out: resolve(req.out), format: req.format };
  const redis = await connectOnce(target);
  const queue = new Queue(QUEUE_NAME, { connection: redis });
  try {
    const runs = new RunStore(redis);
    let rec = await runs.get(run);
    if (!rec) {
      const fresh = prepareRun(req, run, join(resolve(req.shared), run));
      // Another enqueue of the same name may have won the race: then its record is the one to match.
      rec = (await runs.create(fresh)) ? fresh : await runs.require(run);
    }
    checkSameRun(rec, wanted);
    const listed = await queue.getJob(releaseJobId(run, rec.digest));
    // A run whose release job is missing was cut short while enqueuing (or cancelled: `queue retry` resumes it).
    if (!listed && !(await runs.cancelled(run))) await addFlow(redis, rec);
    return await runStatus(queue, runs, run);
  } finally {
    await queue.close();
    await redis.quit();
  }
}

/** Workers on other machines find the dataset by the plan's paths: relative ones would not resolve there. */
function checkPortable(plan: CraftPlan): void {
  for (const p of [parseSpec(plan.dataset.spec).path, plan.dataset.dataDir]) {
    if (p && !isAbsolute(p))
      throw new Error(`dataset path '${p}' is relative: with --queue give an absolute path that every worker sees`);
  }
}

function checkSameRun(rec: RunRecord, wanted: { digest: string; out: string; format: OutputFormat }): void {
  if (rec.digest !== wanted.digest)
    throw new Error(
      `run '${rec.run}' was enqueued with plan ${rec.digest}, this craft makes plan ${wanted.digest}: pick another --run`,
    );
  if (rec.out !== wanted.out || rec.format !== wanted.format)
    throw new Error(`run '${rec.run}' writes its release to ${rec.out} (${rec.format}), not ${wanted.out}`);
}

/** The run's shared directory: crafting models copied in by content, the chunk store, run.json. */
function prepareRun(req: EnqueueRequest, run: string, dir: string): RunRecord {
  const { plan } = req;
  if (req.crafterFiles.length !== plan.crafters.length)
    throw new Error(`${req.crafterFiles.length} crafter files for the plan's ${plan.crafters.length} crafting models`);
  mkdirSync(join(dir, "crafters"), { recursive: true });
  const crafters = plan.crafters.map(({ model, sha256 }, k) => {
    const from = req.crafterFiles[k]!;
    const bytes = new Uint8Array(readFileSync(from));
    if (sha256hex(bytes) !== sha256)
      throw new Error(`${from} changed while the craft was being planned (sha256 no longer ${sha256})`);
    const file = join(dir, "crafters", `${sha256}.safetensors`);
    if (!existsSync(file) || sha256hex(readFileSync(file)) !== sha256) writeFileAtomic(file, bytes);
    return { model, sha256, file };
  });
  ChunkStore.open(chunkDir({ dir }), plan);
  const images = poisonedIndices(plan.dataset.count, plan.budget, plan.seed).length;
  const rec: RunRecord = {
    run,
    digest: planDigest(plan),
    plan,
    dir,
    out: resolve(req.out),
    format: req.format,
    force: req.force,
    crafters,
    chunks: chunkCount(images, plan.chunkSize),
    images,
    created: new Date().toISOString(),
  };
  writeRunFile(rec);
  return rec;
}

const sha256hex = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** The run's flow; jobs whose ids exist already are kept as they are (BullMQ skips duplicate ids). */
export async function addFlow(redis: Redis, rec: RunRecord): Promise<void> {
  const flow = new FlowProducer({ connection: redis });
  const data = { run: rec.run, digest: rec.digest, dir: rec.dir };
  try {
    await flow.add({
      name: RELEASE_JOB,
      queueName: QUEUE_NAME,
      data,
      opts: { jobId: releaseJobId(rec.run, rec.digest), ...RETRIES },
      children: Array.from({ length: rec.chunks }, (_, chunk) => ({
        name: CHUNK_JOB,
        queueName: QUEUE_NAME,
        data: { ...data, chunk },
        opts: { jobId: chunkJobId(rec.run, rec.digest, chunk), ...RETRIES },
      })),
    });
  } finally {
    await flow.close();
  }
}
