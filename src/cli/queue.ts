// `advpoison queue status|cancel|retry URL`: the runs on a crafting queue.
import { Queue } from "bullmq";
import type { Command } from "commander";
import type { Redis } from "ioredis";
import {
  allRunStatuses,
  cancelRun,
  connectOnce,
  formatStatus,
  parseRedisUrl,
  QUEUE_NAME,
  RunStore,
  retryRun,
  runStatus,
} from "../queue/index.js";
import { action, printJson } from "./common.js";

interface QueueCliOptions {
  run?: string;
  json?: boolean;
}

/** Runs `fn` against the queue at `url`, closing the connections whatever happens. */
async function withQueue<T>(url: string, fn: (redis: Redis, queue: Queue, runs: RunStore) => Promise<T>): Promise<T> {
  const redis = await connectOnce(parseRedisUrl(url));
  const queue = new Queue(QUEUE_NAME, { connection: redis });
  try {
    return await fn(redis, queue, new RunStore(redis));
  } finally {
    await queue.close();
    await redis.quit();
  }
}

function requireRun(o: QueueCliOptions): string {
  if (!o.run) throw new Error("--run NAME is required");
  return o.run;
}

export function registerQueue(program: Command): void {
  const queue = program.command("queue").description("runs on a crafting queue (`craft --queue`, `worker`)");
  queue
    .command("status")
    .description("per run: chunks waiting/active/done/failed, images/s, ETA, attack success, workers")
    .argument("<url>", "the queue: redis://HOST:PORT[/DB]")
    .option("--run <name>", "only this run")
    .option("--json", "print one JSON result as the last line")
    .action(
      action(async (url: string, o: QueueCliOptions) => {
        const all = await withQueue(url, async (_redis, q, runs) =>
          o.run ? [await runStatus(q, runs, o.run)] : allRunStatuses(q, runs),
        );
        for (const s of all) console.log(formatStatus(s));
        if (!all.length) console.log("no runs on this queue");
        if (o.json) printJson(o.run ? { ...all[0] } : { runs: all });
      }),
    );
  queue
    .command("cancel")
    .description("remove a run's waiting jobs (chunks being crafted finish); `queue retry` resumes it")
    .argument("<url>", "the queue: redis://HOST:PORT[/DB]")
    .option("--run <name>", "the run")
    .option("--json", "print one JSON result as the last line")
    .action(
      action(async (url: string, o: QueueCliOptions) => {
        const run = requireRun(o);
        const status = await withQueue(url, async (_redis, q, runs) => {
          const removed = await cancelRun(q, runs, run);
          console.log(`run ${run}: cancelled, ${removed} jobs removed from the queue`);
          return runStatus(q, runs, run);
        });
        if (o.json) printJson({ ...status });
      }),
    );
  queue
    .command("retry")
    .description("put a run's failed jobs back on the queue, or resume a cancelled run")
    .argument("<url>", "the queue: redis://HOST:PORT[/DB]")
    .option("--run <name>", "the run")
    .option("--json", "print one JSON result as the last line")
    .action(
      action(async (url: string, o: QueueCliOptions) => {
        const run = requireRun(o);
        const status = await withQueue(url, async (redis, q, runs) => {
          const retried = await retryRun(redis, q, runs, run);
          console.log(`run ${run}: ${retried} jobs back on the queue`);
          return runStatus(q, runs, run);
        });
        console.log(formatStatus(status));
        if (o.json) printJson({ ...status });
      }),
    );
}
