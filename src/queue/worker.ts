// A worker: takes the chunk and release jobs of every run on the queue, each in a sandboxed child process
// (processor.ts) so that locks are renewed while libtorch computes. A killed worker's job goes back to the
// queue once its lock lapses (BullMQ's stalled-job check, run by the other workers). A worker acts only on
// runs under its own shared root, and only on records that are the ones their jobs were made for (run-check.ts).
import { hostname } from "node:os";
import { fileURLToPath } from "node:url";
import { type Job, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { connectRetrying, type RedisTarget } from "./connection.js";
import { CHUNK_JOB, type ChunkJobData, type ChunkJobResult, QUEUE_NAME, RETRIES } from "./jobs.js";
import { DEVICE_ENV, QUEUE_ENV, SHARED_ENV } from "./processor-env.js";
import { RunStore } from "./run-store.js";
import { sharedRoot } from "./shared-root.js";

const PROCESSOR = fileURLToPath(new URL("./processor.js", import.meta.url));

export interface WorkerOptions {
  /** The queue's address as given (children connect to it themselves). */
  queue: string;
  /** The shared directory: the worker takes only runs whose directories are in it. */
  shared: string;
  concurrency: number;
  /** Torch device of the crafting ("cpu", "cuda", ...). */
  device: string;
  /** A job's lock lasts this long without renewal: a dead worker's job is taken again after about this. */
  lockDurationMs: number;
  name?: string;
  log: (line: string) => void;
}

export interface RunningWorker {
  name: string;
  /** Finishes the jobs in hand, then disconnects. */
  stop(): Promise<void>;
}

const what = (job: Job<ChunkJobData>) =>
  job.name === CHUNK_JOB ? `chunk ${job.data.chunk} of run ${job.data.run}` : `release of run ${job.data.run}`;

export async function startWorker(target: RedisTarget, o: WorkerOptions): Promise<RunningWorker> {
  const name = o.name ?? `${hostname()}:${process.pid}`;
  const root = sharedRoot(o.shared);
  const redis: Redis = await connectRetrying(target, o.log);
  const worker = new Worker(QUEUE_NAME, PROCESSOR, {
    connection: redis,
    name,
    concurrency: o.concurrency,
    lockDuration: o.lockDurationMs,
    stalledInterval: o.lockDurationMs,
    // Crafting a chunk again gives the same bytes, so a chunk may stall (its worker die) several times.
    maxStalledCount: 5,
    workerForkOptions: { env: { ...process.env, [DEVICE_ENV]: o.device, [SHARED_ENV]: root, [QUEUE_ENV]: o.queue } },
  });
  const runs = new RunStore(redis);
  worker.on("active", (job) => {
    o.log(`${what(job)}: started`);
    runs.sawWorker(job.data.run, name).catch(() => {});
  });
  worker.on("completed", (job, result) => {
    if (job.name !== CHUNK_JOB) return o.log(`${what(job)}: written to ${result.release}`);
    const r = result as ChunkJobResult;
    o.log(`${what(job)}: ${r.crafted ? `crafted in ${r.seconds.toFixed(2)} s` : "already on the shared disk"}`);
  });
  worker.on("failed", (job, e) => {
    if (job) o.log(`${what(job)}: failed (attempt ${job.attemptsMade}/${RETRIES.attempts}): ${e.message}`);
  });
  worker.on("stalled", (id) => o.log(`job ${id} stalled (its worker stopped renewing the lock); back in the queue`));
  // Connection errors are said by the client (once per outage); others are worth a line each.
  worker.on("error", (e) => {
    if (redis.status === "ready") o.log(`worker error: ${e.message}`);
  });
  await worker.waitUntilReady();
  o.log(
    `worker ${name}: taking jobs from ${target.shown} of runs under ${root}, concurrency ${o.concurrency}, device ${o.device}`,
  );
  return {
    name,
    stop: async () => {
      await worker.close();
      await redis.quit();
    },
  };
}
