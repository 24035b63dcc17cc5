// Queue benchmark, on a real redis-server: (1) the same plan crafted by 2 worker processes of 1 thread each
// and by one `advpoison craft` of 2 threads; (2) the queue's overhead per chunk (enqueue, taking the job and
// its lock, writing and reporting the result) as a share of the chunk's crafting time. JSON lines.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Job, Queue } from "bullmq";
import {
  type ChunkJobResult,
  chunkJobId,
  connectOnce,
  enqueueCraft,
  parseRedisUrl,
  QUEUE_NAME,
  RunStore,
  recordDigest,
  runStatus,
} from "../src/queue/index.js";
import { freePort, startRedisServer, until } from "../test/queue/redis-server.js";
import { printCase } from "./timing.js";

const SUBSET = Number(process.env.BENCH_IMAGES ?? 1024);
const CHUNK = Number(process.env.BENCH_CHUNK ?? 128);
const STEPS = Number(process.env.BENCH_STEPS ?? 10);
const CLI = join(process.cwd(), "dist/src/cli/main.js");
const env = (threads: number) => ({ ...process.env, ADVPOISON_THREADS: String(threads), OMP_NUM_THREADS: "1" });

function cli(args: string[], threads: number): { stdout: string; seconds: number } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env: env(threads) });
  if (r.status !== 0) throw new Error(`advpoison ${args[0]} failed: ${r.stderr}`);
  return { stdout: r.stdout, seconds: (performance.now() - t0) / 1000 };
}

const tmp = mkdtempSync(join(tmpdir(), "advpoison-bench-queue-"));
const port = await freePort();
const url = `redis://127.0.0.1:${port}`;
const server = await startRedisServer(port, join(tmp, "redis"));
const workers: ChildProcess[] = [];
try {
  cli(["train", "--subset", "512", "--epochs", "1", "--out", join(tmp, "crafter")], 2);
  const crafter = join(tmp, "crafter", "model.safetensors");
  const plan = [
    "--subset",
    String(SUBSET),
    "--chunk-size",
    String(CHUNK),
    "--steps",
    String(STEPS),
    "--crafter",
    crafter,
  ];

  const local = cli(["craft", ...plan, "--out", join(tmp, "local")], 2);
  const localCrafting = JSON.parse(readFileSync(join(tmp, "local", "manifest.json"), "utf8")).crafting_seconds;
  printCase({
    case: "one process, 2 threads",
    images: SUBSET,
    wall_s: +local.seconds.toFixed(2),
    crafting_s: +localCrafting.toFixed(2),
    images_per_s: +(SUBSET / localCrafting).toFixed(1),
  });

  // Workers first, warm and waiting, so that the queue's time is the crafting's, not node's start-up.
  const shared = join(tmp, "shared");
  mkdirSync(shared);
  for (const name of ["b1", "b2"]) {
    const w = spawn(process.execPath, [CLI, "worker", "--queue", url, "--shared", shared, "--name", name], {
      env: env(1),
      stdio: ["ignore", "ignore", "pipe"],
    });
    let log = "";
    w.stderr!.on("data", (d) => {
      log += d;
    });
    workers.push(w);
    await until(`worker ${name}`, async () => log.includes("taking jobs"));
  }
  const redis = await connectOnce(parseRedisUrl(url));
  const queue = new Queue(QUEUE_NAME, { connection: redis });
  const runs = new RunStore(redis);
  // The local release's manifest holds the plan `craft --queue` would make: enqueue it here, timed alone.
  const manifestPlan = JSON.parse(readFileSync(join(tmp, "local", "manifest.json"), "utf8")).plan;
  const t0 = performance.now();
  await enqueueCraft({
    queue: url,
    run: "bench",
    shared,
    out: join(shared, "queued"),
    format: "same",
    force: false,
    plan: manifestPlan,
    crafterFiles: [crafter],
  });
  const enqueueSeconds = (performance.now() - t0) / 1000;
  await until("the queued run", async () => (await runStatus(queue, runs, "bench")).state === "done", 300_000);
  const rec = await runs.require("bench");
  const jobs = (await Promise.all(
    Array.from({ length: rec.chunks }, (_, k) => queue.getJob(chunkJobId("bench", recordDigest(rec), k))),
  )) as Job[];
  const span = (Math.max(...jobs.map((j) => j.finishedOn!)) - Math.min(...jobs.map((j) => j.processedOn!))) / 1000;
  printCase({
    case: "2 workers, 1 thread each",
    images: SUBSET,
    crafting_span_s: +span.toFixed(2),
    images_per_s: +(SUBSET / span).toFixed(1),
    speedup_vs_one_process: +(localCrafting / span).toFixed(2),
  });

  // Per chunk: job wall time less crafting time (result write, IPC, completion), plus the gap before the
  // worker's next job (fetching it, taking its lock). The first job of each worker also loads the data and
  // the models, once per run: reported apart, not counted as queue overhead.
  const byWorker = new Map<string, Job[]>();
  for (const j of jobs) byWorker.set(j.processedBy!, [...(byWorker.get(j.processedBy!) ?? []), j]);
  const overheadsMs: number[] = [];
  const craftingMs: number[] = [];
  const loadS: number[] = [];
  for (const list of byWorker.values()) {
    list.sort((a, b) => a.processedOn! - b.processedOn!);
    list.forEach((j, i) => {
      const r = j.returnvalue as ChunkJobResult;
      const inJob = j.finishedOn! - j.processedOn! - r.seconds * 1000;
      if (i === 0) {
        loadS.push(inJob / 1000);
        return;
      }
      overheadsMs.push(inJob + (j.processedOn! - list[i - 1]!.finishedOn!));
      craftingMs.push(r.seconds * 1000);
    });
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const enqueueMs = (enqueueSeconds * 1000) / rec.chunks;
  const perChunk = mean(overheadsMs) + enqueueMs;
  printCase({
    case: "queue overhead per chunk",
    chunk_images: CHUNK,
    chunks: rec.chunks,
    crafting_ms: +mean(craftingMs).toFixed(1),
    job_and_lock_ms: +mean(overheadsMs).toFixed(1),
    enqueue_ms_per_chunk: +enqueueMs.toFixed(1),
    overhead_share: +(perChunk / mean(craftingMs)).toFixed(4),
    first_job_load_s: +mean(loadS).toFixed(2),
  });
  await queue.close();
  await redis.quit();
} finally {
  for (const w of workers) w.kill("SIGTERM");
  await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode === null ? w.once("exit", r) : r(null)))));
  server.kill("SIGTERM");
  rmSync(tmp, { recursive: true, force: true });
}
