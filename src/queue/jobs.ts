// The jobs on the queue: one per chunk, and a parent per run (BullMQ flow) that assembles the release once
// all its chunks are done. Ids are deterministic, so enqueuing a run again finds its jobs instead of adding.
import type { JobsOptions } from "bullmq";

/** One queue for every run: workers take chunk jobs of any run. */
export const QUEUE_NAME = "advpoison-craft";
export const CHUNK_JOB = "chunk";
export const RELEASE_JOB = "release";

export interface ChunkJobData {
  run: string;
  /** The run record's digest (recordDigest): a worker acts only on a run.json that hashes to it. */
  digest: string;
  /** The run's directory on the shared filesystem (it holds run.json): SHARED/RUN, checked by the worker. */
  dir: string;
  chunk: number;
}

export type ReleaseJobData = Omit<ChunkJobData, "chunk">;

export interface ChunkJobResult {
  chunk: number;
  images: number;
  /** Images that fooled the crafting model(s) the plan's way (see the method's `success` in the methods table). */
  fooled: number;
  /** Crafting time of the chunk, as its file records it. */
  seconds: number;
  /** False when the chunk was on disk already (a worker died after writing it). */
  crafted: boolean;
}

/** Job ids of a run, by its record's digest: a changed record has no jobs. */
export const chunkJobId = (run: string, digest: string, k: number): string => `${run}.${digest}.c${k}`;
export const releaseJobId = (run: string, digest: string): string => `${run}.${digest}.release`;

/** A chunk that throws is tried 4 times, 1, 2 and 4 s apart, before it counts as failed. */
export const RETRIES: Pick<JobsOptions, "attempts" | "backoff"> = {
  attempts: 4,
  backoff: { type: "exponential", delay: 1000 },
};
