// `craft --queue`: stores a run (its plan, its crafting models copied to the shared directory, run.json) and
// adds its flow, one chunk job per chunk under a release job, then returns the run's status at once.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { FlowProducer, Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { OutputFormat } from "../data/index.js";
import {
  ChunkStore,
  type CraftPlan,
  chunkCount,
  methodOf,
  planDigest,
  planMethod,
  poisonedIndices,
} from "../poison/index.js";
import { writeFileAtomic } from "../util/atomic.js";
import { MARKER_FILE, outputKind, writeMarker } from "../util/ownership.js";
import { connectOnce, parseRedisUrl } from "./connection.js";
import { CHUNK_JOB, chunkJobId, QUEUE_NAME, RELEASE_JOB, RETRIES, releaseJobId } from "./jobs.js";
import { checkRunName, chunkDir, crafterFile, portabilityProblem, type RunRecord, recordDigest } from "./run-record.js";
import { RunStore, writeRunFile } from "./run-store.js";
import { checkRunPaths, realInside, runDirIn, sharedRoot } from "./shared-root.js";
import { type RunStatus, runStatus } from "./status.js";

export interface EnqueueRequest {
  queue: string;
  run?: string;
  shared?: string;
  /** Refused: the queue hands out every chunk; shards are for batch jobs without one. */
  shard?: string;
  /** The release directory: inside `shared`, outside every run's directory. */
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
  if (!methodOf(planMethod(req.plan)).chunked)
    throw new Error(
      `${planMethod(req.plan)} cannot be queued: it optimises all poisoned images together, not chunk by chunk`,
    );
  const portability = portabilityProblem(req.plan);
  if (portability) throw new Error(portability);
  if (req.crafterFiles.length !== req.plan.crafters.length)
    throw new Error(
      `${req.crafterFiles.length} crafter files for the plan's ${req.plan.crafters.length} crafting models`,
    );
  const root = sharedRoot(req.shared, true);
  const fresh = newRecord(req, run, root);
  checkRunPaths(fresh, root);
  const redis = await connectOnce(target);
  const queue = new Queue(QUEUE_NAME, { connection: redis });
  try {
    const runs = new RunStore(redis);
    // Another enqueue of the same name may have won the race: then its record is the one to match.
    const rec = (await runs.get(run)) ?? ((await runs.create(fresh)) ? fresh : await runs.require(run));
    checkSameRun(rec, fresh);
    const listed = await queue.getJob(releaseJobId(run, recordDigest(rec)));
    // A run whose release job is missing was cut short while enqueuing (or cancelled: `queue retry` resumes it).
    // Its files are written again from the queue's record, which checkSameRun found to be this craft's.
    if (!listed && !(await runs.cancelled(run))) {
      writeRunFiles(req, rec);
      await addFlow(redis, rec);
    }
    return await runStatus(queue, runs, run);
  } finally {
    await queue.close();
    await redis.quit();
  }
}

/** The record of this craft, with real paths: SHARED/RUN, and the release inside SHARED (checked by the caller). */
function newRecord(req: EnqueueRequest, run: string, root: string): RunRecord {
  const { plan } = req;
  const dir = runDirIn(root, run);
  // A run.json alone does not make a folder a run's: only the marker advpoison wrote when it made the run.
  if (existsSync(dir) && readdirSync(dir).length > 0 && outputKind(dir) !== "queue run")
    throw new Error(`${dir} exists and is not a queued run's directory (no valid ${MARKER_FILE}): pick another --run`);
  const images = poisonedIndices(plan.dataset.count, plan.budget, plan.seed).length;
  return {
    run,
    digest: planDigest(plan),
    plan,
    dir,
    out: realInside(root, req.out, "--out"),
    format: req.format,
    force: req.force,
    crafters: plan.crafters.map(({ model, sha256 }) => ({ model, sha256 })),
    chunks: chunkCount(images, plan.chunkSize),
    images,
    created: new Date().toISOString(),
  };
}

function checkSameRun(rec: RunRecord, wanted: RunRecord): void {
  if (rec.dir !== wanted.dir) throw new Error(`run '${rec.run}' lives in ${rec.dir}, not in ${wanted.dir}`);
  if (rec.digest !== wanted.digest)
    throw new Error(
      `run '${rec.run}' was enqueued with plan ${rec.digest}, this craft makes plan ${wanted.digest}: pick another --run`,
    );
  if (rec.out !== wanted.out || rec.format !== wanted.format || rec.force !== wanted.force) {
    const how = (r: RunRecord) => `${r.out} (${r.format}${r.force ? ", --force" : ""})`;
    throw new Error(`run '${rec.run}' writes its release to ${how(rec)}, not ${how(wanted)}`);
  }
}

/** The run's shared directory: crafting models copied in by content, the chunk store, run.json. */
function writeRunFiles(req: EnqueueRequest, rec: RunRecord): void {
  mkdirSync(join(rec.dir, "crafters"), { recursive: true });
  writeMarker(rec.dir, "queue run");
  rec.crafters.forEach(({ sha256 }, k) => {
    const from = req.crafterFiles[k]!;
    const bytes = new Uint8Array(readFileSync(from));
    if (sha256hex(bytes) !== sha256)
      throw new Error(`${from} changed while the craft was being planned (sha256 no longer ${sha256})`);
    const file = crafterFile(rec.dir, sha256);
    if (!existsSync(file) || sha256hex(readFileSync(file)) !== sha256) writeFileAtomic(file, bytes);
  });
  ChunkStore.open(chunkDir(rec), rec.plan);
  writeRunFile(rec);
}

const sha256hex = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** The run's flow; jobs whose ids exist already are kept as they are (BullMQ skips duplicate ids). */
export async function addFlow(redis: Redis, rec: RunRecord): Promise<void> {
  const flow = new FlowProducer({ connection: redis });
  const digest = recordDigest(rec);
  const data = { run: rec.run, digest, dir: rec.dir };
  try {
    await flow.add({
      name: RELEASE_JOB,
      queueName: QUEUE_NAME,
      data,
      opts: { jobId: releaseJobId(rec.run, digest), ...RETRIES },
      children: Array.from({ length: rec.chunks }, (_, chunk) => ({
        name: CHUNK_JOB,
        queueName: QUEUE_NAME,
        data: { ...data, chunk },
        opts: { jobId: chunkJobId(rec.run, digest, chunk), ...RETRIES },
      })),
    });
  } finally {
    await flow.close();
  }
}
