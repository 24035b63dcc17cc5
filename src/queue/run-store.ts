// Where a queued run's record is kept: in Redis (found by name from any machine, with whether the run was
// cancelled and which workers took its jobs) and as run.json in the run's shared directory, which workers read.
// Both are checked when read (parseRunRecord); whether they are the same record is checked by their digests.
import { lstatSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Redis } from "ioredis";
import { writeFileAtomic } from "../util/atomic.js";
import { parseRunRecord, type RunRecord } from "./run-record.js";
import { RUN_FILE } from "./shared-root.js";

export function writeRunFile(rec: RunRecord): void {
  writeFileAtomic(join(rec.dir, RUN_FILE), `${JSON.stringify(rec, null, 2)}\n`);
}

/** The run.json in `dir`, checked (parseRunRecord); a link in its place is refused, not followed. */
export function readRunFile(dir: string): RunRecord {
  const path = join(dir, RUN_FILE);
  if (!lstatSync(path).isFile()) throw new Error(`${path} is not a plain file`);
  return parseRunRecord(readFileSync(path, "utf-8"), path);
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
    return text === null ? null : parseRunRecord(text, `the queue's record of run '${run}'`);
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
