// A run's progress as the queue knows it: chunk jobs by state, throughput, ETA, attack success so far, the
// workers that took its jobs, and the first error of a failed run. "done" is said only of a release that is
// where the run says, as this machine sees it: its manifest there is of the run's plan.
import type { Job, Queue } from "bullmq";
import { methodOf, planMethod, readManifest } from "../poison/index.js";
import type { ReleaseJobResult } from "./assemble.js";
import { type ChunkJobResult, chunkJobId, releaseJobId } from "./jobs.js";
import { checkSealed } from "./run-check.js";
import { type RunRecord, recordDigest } from "./run-record.js";
import { type RunStore, readRunFile } from "./run-store.js";

export type RunState = "waiting" | "running" | "done" | "failed";

export interface RunStatus {
  run: string;
  recipe: string;
  state: RunState;
  chunks: { waiting: number; active: number; done: number; failed: number };
  images: { done: number; total: number };
  /** Crafted images per second of wall time since the first chunk started; null before any is done. */
  images_per_s: number | null;
  eta_s: number | null;
  /** Share of the crafted images that fooled the crafting model(s) the plan's way; null before any. */
  attack_success: number | null;
  workers: string[];
  release: string;
  plan_digest: string;
  error?: string;
}

/** A run whose record in Redis cannot be read: listed with why, so one damaged record hides no other run. */
export interface UnreadableRun {
  run: string;
  state: "unreadable";
  error: string;
}

type ChunkBucket = keyof RunStatus["chunks"];

/** BullMQ's job states as the status counts them: delayed (backing off) and prioritized are waiting too. */
function bucketOf(state: string): ChunkBucket {
  if (state === "completed") return "done";
  if (state === "failed" || state === "active") return state;
  return "waiting";
}

export async function runStatus(queue: Queue, runs: RunStore, run: string): Promise<RunStatus> {
  const rec = await runs.require(run);
  const digest = recordDigest(rec);
  const ids = Array.from({ length: rec.chunks }, (_, k) => chunkJobId(run, digest, k));
  const [jobs, states, parent, parentState, cancelled, workers] = await Promise.all([
    Promise.all(ids.map((id) => queue.getJob(id))),
    Promise.all(ids.map((id) => queue.getJobState(id))),
    queue.getJob(releaseJobId(run, digest)),
    queue.getJobState(releaseJobId(run, digest)),
    runs.cancelled(run),
    runs.workers(run),
  ]);
  const chunks = { waiting: 0, active: 0, done: 0, failed: 0 };
  let images = 0;
  let fooled = 0;
  let firstFailure: string | undefined;
  states.forEach((s, k) => {
    const bucket = bucketOf(s);
    chunks[bucket]++;
    const job = jobs[k];
    // A job read just before it completed has no result yet: it counts from the next status on.
    const r = bucket === "done" ? (job?.returnvalue as ChunkJobResult | null) : null;
    if (r) {
      images += r.images;
      fooled += r.fooled;
    }
    if (bucket === "failed" && firstFailure === undefined) firstFailure = `chunk ${k}: ${job?.failedReason}`;
  });
  const all = [...jobs, parent].filter((j): j is Job => j !== undefined);
  const started = Math.min(...all.map((j) => j.processedOn ?? Number.POSITIVE_INFINITY));
  const ended = parentState === "completed" ? Math.max(...all.map((j) => j.finishedOn ?? 0)) : Date.now();
  const rate = images > 0 && Number.isFinite(started) ? images / Math.max(1e-3, (ended - started) / 1000) : null;
  const released = parentState === "completed";
  const broken = recordProblem(rec, digest, released) ?? (released ? releaseProblem(rec, parent) : undefined);
  const state: RunState = broken
    ? "failed"
    : released
      ? "done"
      : cancelled || chunks.failed > 0 || parentState === "failed"
        ? "failed"
        : chunks.active + chunks.done > 0 || parentState === "active"
          ? "running"
          : "waiting";
  const error =
    broken ?? cancelled ?? firstFailure ?? (parentState === "failed" ? `release: ${parent?.failedReason}` : undefined);
  return {
    run,
    recipe: planMethod(rec.plan),
    state,
    chunks,
    images: { done: images, total: rec.images },
    images_per_s: rate === null ? null : +rate.toFixed(2),
    eta_s: rate === null || state === "done" ? null : +((rec.images - images) / rate).toFixed(1),
    attack_success: images > 0 ? +(fooled / images).toFixed(4) : null,
    workers,
    release: rec.out,
    plan_digest: rec.digest,
    ...(error !== undefined ? { error } : {}),
  };
}

/** The status of every run on the queue, in name order; a run whose record cannot be read is listed as such. */
export async function allRunStatuses(queue: Queue, runs: RunStore): Promise<(RunStatus | UnreadableRun)[]> {
  const names = await runs.names();
  return Promise.all(
    names.map((run) =>
      runStatus(queue, runs, run).catch((e: Error): UnreadableRun => ({ run, state: "unreadable", error: e.message })),
    ),
  );
}

/**
 * Whether the run's run.json is the queue's record: a difference is always a failure; a run.json this machine
 * cannot read is one only when the run would be reported done.
 */
function recordProblem(rec: RunRecord, digest: string, released: boolean): string | undefined {
  try {
    checkSealed(readRunFile(rec.dir), digest, `${rec.dir}/run.json`, `the queue's record of run '${rec.run}'`);
    return undefined;
  } catch (e) {
    const unreadable = (e as { code?: string }).code !== undefined;
    return unreadable && !released ? undefined : `record: ${(e as Error).message}`;
  }
}

/** Why a completed release job does not prove the release: not written where the run says, or not of its plan. */
function releaseProblem(rec: RunRecord, job: Job | undefined): string | undefined {
  const written = (job?.returnvalue as ReleaseJobResult | null)?.release;
  if (written !== rec.out)
    return `release: the release job wrote ${written ?? "nothing"}, the run's release is ${rec.out}`;
  try {
    const manifest = readManifest(rec.out);
    if (manifest.plan_digest !== rec.digest)
      return `release: ${rec.out} holds a release of plan ${manifest.plan_digest}, not the run's ${rec.digest}`;
    return undefined;
  } catch (e) {
    return `release: ${(e as Error).message}`;
  }
}

/** A line per run for people (and the release or the error under it). */
export function formatStatus(s: RunStatus | UnreadableRun): string {
  if (s.state === "unreadable") return `run ${s.run}: unreadable\n  error: ${s.error}`;
  const c = s.chunks;
  const parts = [
    `run ${s.run}: ${s.state}`,
    `chunks ${c.done} done, ${c.active} active, ${c.waiting} waiting, ${c.failed} failed`,
    `${s.images.done}/${s.images.total} images`,
  ];
  if (s.images_per_s !== null) parts.push(`${s.images_per_s} img/s`);
  if (s.eta_s !== null) parts.push(`ETA ${s.eta_s} s`);
  if (s.attack_success !== null)
    parts.push(`${(100 * s.attack_success).toFixed(1)}% ${methodOf(s.recipe).success.short}`);
  if (s.workers.length) parts.push(`workers ${s.workers.join(", ")}`);
  const line = parts.join(", ");
  const tail = s.state === "done" ? `\n  release: ${s.release}` : s.error ? `\n  error: ${s.error}` : "";
  return line + tail;
}
