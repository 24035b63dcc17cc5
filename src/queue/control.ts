// `queue cancel` and `queue retry`: a cancelled run loses its waiting jobs (chunks being crafted finish, and
// their files stay on the shared disk); retry puts failed jobs back, or re-adds a cancelled run's flow, whose
// chunks already on disk are then only checked, not crafted again. Retry first checks the queue's record
// against the run's run.json and the shared directory, as a worker would: it never re-adds a changed record.
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { addFlow } from "./enqueue.js";
import { chunkJobId, releaseJobId } from "./jobs.js";
import { checkStoredRun } from "./run-check.js";
import { recordDigest } from "./run-record.js";
import type { RunStore } from "./run-store.js";
import { runStatus } from "./status.js";

/** Cancels the run; the number of jobs removed from the queue. */
export async function cancelRun(queue: Queue, runs: RunStore, run: string): Promise<number> {
  const rec = await runs.require(run);
  const status = await runStatus(queue, runs, run);
  if (status.state === "done") throw new Error(`run '${run}' is done (release ${rec.out}): nothing to cancel`);
  await runs.cancel(run, `cancelled at ${new Date().toISOString()}`);
  const digest = recordDigest(rec);
  const ids = [releaseJobId(run, digest), ...Array.from({ length: rec.chunks }, (_, k) => chunkJobId(run, digest, k))];
  let removed = 0;
  for (const id of ids) {
    const state = await queue.getJobState(id);
    // Active jobs are locked: they finish, with no release job left to wait for them. Done ones are kept.
    if (state !== "active" && state !== "completed" && state !== "unknown")
      removed += await queue.remove(id, { removeChildren: false });
  }
  return removed;
}

/** Retries the run's failed jobs, or re-adds a cancelled run; the number of jobs put back. */
export async function retryRun(redis: Redis, queue: Queue, runs: RunStore, run: string): Promise<number> {
  const rec = await runs.require(run);
  checkStoredRun(rec);
  if (await runs.cancelled(run)) {
    await runs.uncancel(run);
    await addFlow(redis, rec);
    return rec.chunks + 1;
  }
  const digest = recordDigest(rec);
  let retried = 0;
  for (let k = 0; k < rec.chunks; k++) {
    const job = await queue.getJob(chunkJobId(run, digest, k));
    if (job && (await job.isFailed())) {
      await job.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: true });
      retried++;
    }
  }
  const release = await queue.getJob(releaseJobId(run, digest));
  // The release job fails only after every chunk was done: it can run again as it is.
  if (release && (await release.isFailed())) {
    await release.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: true });
    retried++;
  }
  if (retried === 0)
    throw new Error(`run '${run}' has no failed jobs to retry (${(await runStatus(queue, runs, run)).state})`);
  return retried;
}
