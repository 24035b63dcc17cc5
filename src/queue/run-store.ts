// A queued run: its plan, where its files are, and whether it was cancelled. The record is kept in Redis
// (found by name from any machine) and as run.json in the run's shared directory (read by the sandboxed
// workers, which do not talk to Redis themselves).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Redis } from "ioredis";
import type { OutputFormat } from "../data/index.js";
import type { CraftPlan } from "../poison/index.js";
import { writeFileAtomic } from "../util/atomic.js";

export interface RunRecord {
  run: string;
  digest: string;
  plan: CraftPlan;
  /** The run's directory on the shared filesystem, absolute. */
  dir: string;
  /** The release directory, absolute; written by whichever worker assembles it. */
  out: string;
  format: OutputFormat;
  force: boolean;
  /** The crafting models as copied into the run's directory, in the plan's order. */
  crafters: { model: string; sha256: string; file: string }[];
  chunks: number;
  images: number;
  created: string;
}

const RUN_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export function checkRunName(name: string | undefined): string {
  if (name === undefined) throw new Error("--run NAME is required with --queue");
  if (!RUN_NAME.test(name))
    throw new Error(`--run must be 1-64 letters, digits, '-' or '_' (starting with a letter or digit), got '${name}'`);
  return name;
}

const RUN_FILE = "run.json";
/** Chunk results of the run: a ChunkStore work directory. */
export const chunkDir = (rec: Pick<RunRecord, "dir">): string => join(rec.dir, "chunks");

export function writeRunFile(rec: RunRecord): void {
  writeFileAtomic(join(rec.dir, RUN_FILE), `${JSON.stringify(rec, null, 2)}\n`);
}

export function readRunFile(dir: string): RunRecord {
  return JSON.parse(readFileSync(join(dir, RUN_FILE), "utf-8")) as RunRecord;
}

const KEY = "advpoison:run:";
const NAMES = "advpoison:runs";

export class RunStore {
  constructor(private readonly redis: Redis) {}

  /** Stores a new run; false (storing nothing) when the name is taken. */
  async create(rec: RunRecord): Promise<boolean> {
    const set = await this.redis.set(KEY + rec.run, JSON.stringify(rec), "NX");
    if (set !== "OK") return false;
    await this.redis.sadd(NAMES, rec.run);
    return true;
  }

  async get(run: string): Promise<RunRecord | null> {
    const text = await this.redis.get(KEY + run);
    return text === null ? null : (JSON.parse(text) as RunRecord);
  }

  async require(run: string): Promise<RunRecord> {
    const rec = await this.get(run);
    if (rec) return rec;
    const known = await this.names();
    throw new Error(`unknown run '${run}' (this queue has ${known.length ? known.join(", ") : "no runs"})`);
  }

  async names(): Promise<string[]> {
    return (await this.redis.smembers(NAMES)).sort();
  }

  async cancel(run: string, reason: string): Promise<void> {
    await this.redis.set(`${KEY + run}:cancelled`, reason);
  }

  async uncancel(run: string): Promise<void> {
    await this.redis.del(`${KEY + run}:cancelled`);
  }

  /** Records a worker that took one of the run's jobs (a job's own record keeps only its last worker). */
  async sawWorker(run: string, worker: string): Promise<void> {
    await this.redis.sadd(`${KEY + run}:workers`, worker);
  }

  async workers(run: string): Promise<string[]> {
    return (await this.redis.smembers(`${KEY + run}:workers`)).sort();
  }

  /** Why the run was cancelled, or null. */
  async cancelled(run: string): Promise<string | null> {
    return this.redis.get(`${KEY + run}:cancelled`);
  }
}
