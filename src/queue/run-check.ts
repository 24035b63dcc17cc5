// The checks between what asks for work (a job on the queue, a record in Redis) and what is acted on: the
// run.json in the run's directory under the shared root, whose digest (recomputed here, never read from a
// field) must be the one the job carries and the one of the record in Redis.
import { join } from "node:path";
import { z } from "zod";
import { isRunName, type RunRecord, recordDigest, sharedOf } from "./run-record.js";
import { readRunFile } from "./run-store.js";
import { checkRunPaths, RUN_FILE, runDirIn, sharedRoot } from "./shared-root.js";

const JobDataSchema = z.strictObject({
  run: z.string(),
  digest: z.string(),
  dir: z.string(),
  chunk: z.number().int().nonnegative().optional(),
});

/** Throws unless `rec` is the record `digest` seals; `what` names where rec came from, `whose` the digest. */
export function checkSealed(rec: RunRecord, digest: string, what: string, whose: string): void {
  const actual = recordDigest(rec);
  if (actual !== digest)
    throw new Error(
      `${what} is not the record ${whose} was made for (digest ${actual.slice(0, 16)}, not ${digest.slice(0, 16)}): ` +
        "changed after the run was enqueued",
    );
}

/** The run a job is for, as its run.json under the worker's `root` (a real path) has it, checked against the job. */
export function runOfJob(data: unknown, root: string): RunRecord {
  const parsed = JobDataSchema.safeParse(data);
  if (!parsed.success) throw new Error(`not an advpoison job (${parsed.error.issues[0]!.message})`);
  const job = parsed.data;
  if (!isRunName(job.run)) throw new Error(`the job names run '${job.run}', which is no run name`);
  const dir = join(root, job.run);
  if (job.dir !== dir)
    throw new Error(`the job's directory ${job.dir} is not ${dir}: this worker takes only runs under --shared ${root}`);
  const rec = readRunFile(runDirIn(root, job.run));
  checkSealed(rec, job.digest, join(dir, RUN_FILE), `the job of run '${job.run}'`);
  if (rec.run !== job.run) throw new Error(`${join(dir, RUN_FILE)} is the record of run '${rec.run}'`);
  checkRunPaths(rec, root);
  return rec;
}

/** A record from Redis checked against its run's run.json and the shared directory (before re-adding jobs). */
export function checkStoredRun(rec: RunRecord): void {
  const root = sharedRoot(sharedOf(rec));
  const file = readRunFile(runDirIn(root, rec.run));
  checkSealed(file, recordDigest(rec), join(rec.dir, RUN_FILE), `the queue's record of run '${rec.run}'`);
  checkRunPaths(rec, root);
}
