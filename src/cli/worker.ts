// `advpoison worker --queue URL`: crafts chunk jobs of any run on the queue until SIGTERM (or SIGINT), then
// finishes the chunks in hand and exits 0.
import type { Command } from "commander";
import { parseRedisUrl, startWorker } from "../queue/index.js";
import { action, addDeviceOption, positiveInt, resolveDevice } from "./common.js";

interface WorkerCliOptions {
  queue: string;
  shared: string;
  concurrency: number;
  device: string;
  lockDuration: number;
  name?: string;
}

const say = (line: string) => console.error(`advpoison worker: ${line}`);

export function registerWorker(program: Command): void {
  const cmd = program
    .command("worker")
    .description("craft the chunk jobs of queued runs (`craft --queue`) until SIGTERM")
    .requiredOption("--queue <url>", "the queue: redis://HOST:PORT[/DB]")
    .requiredOption(
      "--shared <dir>",
      "the shared directory (craft's --shared): only runs and releases inside it are worked on",
    )
    .option("--concurrency <n>", "chunks crafted at once, each in its own process", positiveInt, 1)
    .option(
      "--lock-duration <ms>",
      "a job's lock without renewal; a dead worker's chunk is taken again after about this",
      positiveInt,
      30_000,
    )
    .option("--name <name>", "how this worker shows in `queue status` (default HOST:PID)");
  // No --precision: a run's plan records the precision `craft --precision` chose, and its workers craft in it.
  addDeviceOption(cmd).action(
    action(async (o: WorkerCliOptions) => {
      const target = parseRedisUrl(o.queue);
      const device = resolveDevice(o.device);
      const worker = await startWorker(target, {
        queue: o.queue,
        shared: o.shared,
        concurrency: o.concurrency,
        device,
        lockDurationMs: o.lockDuration,
        name: o.name,
        log: say,
      });
      const signal = await new Promise<string>((resolve) => {
        for (const s of ["SIGTERM", "SIGINT"] as const) process.once(s, () => resolve(s));
      });
      say(`${signal}: finishing the job(s) in hand, then exiting`);
      await worker.stop();
      say("stopped");
    }),
  );
}
