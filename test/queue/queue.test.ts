// Crafting on a real Redis-backed BullMQ queue: runs survive a SIGKILLed worker and a killed Redis and give
// the bytes of a one-process craft; failing chunks are retried, then fail the run with their message; bad
// input is a clear error; enqueuing twice adds nothing.
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, describe, test } from "node:test";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import {
  chunkJobId,
  connectRetrying,
  parseRedisUrl,
  QUEUE_NAME,
  type RunStatus,
  RunStore,
  runStatus,
} from "../../src/queue/index.js";
import { needs } from "../requirements.js";
import { freePort, REDIS_SERVER, sleep, startRedisServer, until } from "./redis-server.js";

const FMNIST = "/usr/share/datasets/fashion-mnist";
const CLI = join(process.cwd(), "dist/src/cli/main.js");
const ENV = { ...process.env, ADVPOISON_THREADS: "1", OMP_NUM_THREADS: "1" };
const CHUNKS = 8;

function cli(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env: ENV });
}

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split("\n").pop()!);

/** Every file of a release, by name: its sha256; the manifest without what names the time and the place. */
function releaseDigest(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir).sort()) {
    let bytes = readFileSync(join(dir, f), f === "manifest.json" ? "utf8" : undefined);
    if (f === "manifest.json") {
      const { created: _c, crafting_seconds: _s, release: _r, ...rest } = JSON.parse(bytes as string);
      bytes = JSON.stringify(rest);
    }
    out[f] = createHash("sha256").update(bytes).digest("hex");
  }
  return out;
}

interface Worker {
  child: ChildProcess;
  log: () => string;
}

describe("crafting on a queue", {
  skip: needs(existsSync(FMNIST), `Fashion-MNIST (${FMNIST})`) || needs(existsSync(REDIS_SERVER), "redis-server"),
}, () => {
  const tmp = mkdtempSync(join(tmpdir(), "advpoison-queue-"));
  const shared = join(tmp, "shared");
  let port = 0;
  let url = "";
  let redisServer: ChildProcess | undefined;
  let redis: Redis;
  let queue: Queue;
  let runs: RunStore;
  const workers: Worker[] = [];
  let base: string[] = [];
  let reference: Record<string, string> = {};

  async function startRedis(): Promise<void> {
    redisServer = await startRedisServer(port, join(tmp, "redis"));
  }
  function startWorker(name: string): Worker {
    const args = [CLI, "worker", "--queue", url, "--lock-duration", "2000", "--name", name];
    const child = spawn(process.execPath, args, { env: ENV, stdio: ["ignore", "ignore", "pipe"] });
    let text = "";
    child.stderr!.on("data", (d) => {
      text += d;
    });
    const w = { child, log: () => text };
    workers.push(w);
    return w;
  }

  async function stopWorker(w: Worker): Promise<number | null> {
    if (w.child.exitCode !== null || w.child.signalCode !== null) return w.child.exitCode;
    const exited = new Promise<number | null>((resolve) => w.child.once("exit", (code) => resolve(code)));
    w.child.kill("SIGTERM");
    return exited;
  }

  const enqueue = (run: string, extra: string[] = []) =>
    cli([
      "craft",
      ...base,
      ...extra,
      "--queue",
      url,
      "--run",
      run,
      "--shared",
      shared,
      "--out",
      join(tmp, run),
      "--json",
    ]);
  const status = (run: string): Promise<RunStatus> => runStatus(queue, runs, run);
  const done = (run: string) => until(`run ${run} to be done`, async () => (await status(run)).state === "done");

  before(async () => {
    port = await freePort();
    url = `redis://127.0.0.1:${port}`;
    await startRedis();
    redis = await connectRetrying(parseRedisUrl(url), () => {});
    queue = new Queue(QUEUE_NAME, { connection: redis });
    // While Redis is down on purpose, the queue's connection errors are expected.
    queue.on("error", () => {});
    runs = new RunStore(redis);
    const t = cli(["train", "--subset", "256", "--epochs", "1", "--seed", "1", "--out", join(tmp, "crafter")]);
    assert.equal(t.status, 0, t.stderr);
    const crafter = join(tmp, "crafter", "model.safetensors");
    base = ["--subset", "256", "--chunk-size", String(256 / CHUNKS), "--steps", "2", "--seed", "3"];
    base.push("--crafter", crafter);
    const local = cli(["craft", ...base, "--out", join(tmp, "local")]);
    assert.equal(local.status, 0, local.stderr);
    reference = releaseDigest(join(tmp, "local"));
  });

  // A test that failed leaves its workers running: they must not take the next test's jobs.
  afterEach(async () => {
    await Promise.all(workers.splice(0).map(stopWorker));
  });

  after(async () => {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill("SIGKILL");
    await queue?.close();
    redis?.disconnect();
    redisServer?.kill("SIGKILL");
    rmSync(tmp, { recursive: true, force: true });
  });

  test("a worker SIGKILLed mid-chunk: its chunk is crafted by another, the release has one process's bytes", async () => {
    const e = enqueue("killed");
    assert.equal(e.status, 0, e.stderr);
    assert.deepEqual(lastJson(e.stdout).chunks, { waiting: CHUNKS, active: 0, done: 0, failed: 0 });
    const w1 = startWorker("w1");
    const w2 = startWorker("w2");
    // w1's first job is active while its child loads the data and the model: kill it there.
    const digest = (await runs.require("killed")).digest;
    const ids = Array.from({ length: CHUNKS }, (_, k) => chunkJobId("killed", digest, k));
    const victim = await until("w1 to take a chunk", async () => {
      for (const id of ids) {
        const job = await queue.getJob(id);
        if (job?.processedBy === "w1" && (await job.isActive())) return id;
      }
      return undefined;
    });
    w1.child.kill("SIGKILL");
    const w3 = startWorker("w3");
    await done("killed");
    const job = (await queue.getJob(victim))!;
    assert.ok(job.stalledCounter >= 1, "the killed worker's job came back through the stalled-job check");
    assert.notEqual(job.processedBy, "w1");
    assert.deepEqual(releaseDigest(join(tmp, "killed")), reference);
    const s = lastJson(cli(["queue", "status", url, "--run", "killed", "--json"]).stdout);
    assert.equal(s.state, "done");
    assert.deepEqual(s.chunks, { waiting: 0, active: 0, done: CHUNKS, failed: 0 });
    assert.ok(s.workers.includes("w1"), "status lists the workers seen");
    for (const w of [w2, w3]) {
      assert.equal(await stopWorker(w), 0, "SIGTERM: the worker exits cleanly");
      assert.match(w.log(), /SIGTERM: finishing the job\(s\) in hand, then exiting\n.*stopped/);
    }
  });

  test("Redis killed and restarted mid-run: the run completes with the same bytes", async () => {
    assert.equal(enqueue("restarted").status, 0);
    const w = startWorker("w4");
    await until("a chunk to be active", async () => (await status("restarted")).chunks.active > 0);
    redisServer!.kill("SIGKILL");
    await new Promise((resolve) => redisServer!.once("exit", resolve));
    await sleep(1000);
    await startRedis();
    await done("restarted");
    assert.deepEqual(releaseDigest(join(tmp, "restarted")), reference);
    assert.match(w.log(), /cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+\/0 \([^)]+\); retrying/);
    assert.match(w.log(), /reconnected to Redis/);
    assert.equal(await stopWorker(w), 0);
  });

  test("a chunk that fails once is retried and succeeds", async () => {
    assert.equal(enqueue("flaky").status, 0);
    const [file] = (await runs.require("flaky")).crafters.map((c) => c.file);
    renameSync(file!, `${file}.away`);
    const w = startWorker("w5");
    await until("a failed attempt", async () => (await queue.getDelayedCount()) > 0);
    renameSync(`${file}.away`, file!);
    await done("flaky");
    const rec = await runs.require("flaky");
    const attempts = await Promise.all(
      Array.from({ length: CHUNKS }, async (_, k) => (await queue.getJob(chunkJobId("flaky", rec.digest, k)))!),
    );
    assert.ok(attempts.some((j) => j.attemptsMade >= 2));
    assert.deepEqual(releaseDigest(join(tmp, "flaky")), reference);
    assert.equal(await stopWorker(w), 0);
  });

  test("a chunk that always fails marks the run failed with its message; retry resumes it", async () => {
    assert.equal(enqueue("broken").status, 0);
    const [file] = (await runs.require("broken")).crafters.map((c) => c.file);
    renameSync(file!, `${file}.away`);
    const w = startWorker("w6");
    await until("the run to fail", async () => (await status("broken")).state === "failed");
    const s = cli(["queue", "status", url, "--run", "broken", "--json"]);
    const failed = lastJson(s.stdout);
    assert.equal(failed.state, "failed");
    assert.ok(failed.chunks.failed >= 1);
    assert.match(failed.error, /^chunk \d+: .*crafters\/.*cannot read the model file \(ENOENT\)/);
    assert.match(s.stdout, /error: chunk \d+: .*\(ENOENT\)/);
    renameSync(`${file}.away`, file!);
    const r = cli(["queue", "retry", url, "--run", "broken", "--json"]);
    assert.equal(r.status, 0, r.stderr);
    await done("broken");
    assert.deepEqual(releaseDigest(join(tmp, "broken")), reference);
    assert.equal(await stopWorker(w), 0);
  });

  test("enqueuing twice adds nothing; cancel and retry", async () => {
    const count = async () => Object.values(await queue.getJobCounts()).reduce((a, b) => a + b, 0);
    assert.equal(enqueue("twice").status, 0);
    const first = await count();
    const again = enqueue("twice");
    assert.equal(again.status, 0, again.stderr);
    assert.equal(lastJson(again.stdout).state, "waiting");
    assert.equal(await count(), first, "the second enqueue added jobs");
    const c = cli(["queue", "cancel", url, "--run", "twice", "--json"]);
    assert.equal(c.status, 0, c.stderr);
    assert.match(c.stdout, new RegExp(`${CHUNKS + 1} jobs removed`));
    assert.equal(lastJson(c.stdout).state, "failed");
    assert.match(lastJson(c.stdout).error, /^cancelled at /);
    assert.equal(await count(), first - CHUNKS - 1);
    const r = cli(["queue", "retry", url, "--run", "twice", "--json"]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(lastJson(r.stdout).state, "waiting");
    assert.equal(await count(), first);
  });

  test("bad input is one clear error", () => {
    const fails = (r: ReturnType<typeof cli>, message: RegExp) => {
      assert.equal(r.status, 1, r.stdout);
      assert.match(r.stderr, message);
    };
    fails(cli(["queue", "status", "http://127.0.0.1:6379"]), /--queue must be redis:\/\/HOST:PORT\[\/DB\].*scheme/);
    fails(cli(["queue", "status", `${url}/x`]), /database 'x' is not a number/);
    fails(cli(["queue", "status", url, "--run", "nope"]), /unknown run 'nope' \(this queue has .*killed/);
    fails(enqueue("twice", ["--eps", "4"]), /run 'twice' was enqueued with plan \w+, this craft makes plan \w+/);
    fails(enqueue("bad.name"), /--run must be 1-64 letters/);
    const em = ["craft", "--subset", "256", "--recipe", "error-min", "--queue", url, "--run", "em"];
    fails(cli([...em, "--shared", shared, "--out", join(tmp, "em")]), /error-min cannot be queued: it optimises/);
    const noShared = cli(["craft", ...base, "--queue", url, "--run", "x", "--out", join(tmp, "x")]);
    fails(noShared, /--shared DIR is required with --queue/);
    fails(cli(["queue", "cancel", url, "--run", "killed"]), /run 'killed' is done/);
  });

  test("an unreachable Redis is a clear error", async () => {
    const closed = await freePort();
    const r = cli(["queue", "status", `redis://127.0.0.1:${closed}`]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+\/0 \(ECONNREFUSED\) after 4 tries/);
  });
});
