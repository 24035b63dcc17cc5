// Crafting on a real Redis-backed BullMQ queue: runs survive a SIGKILLed worker and a killed Redis and give
// the bytes of a one-process craft; failing chunks are retried, then fail the run with their message; bad
// input is a clear error; enqueuing twice adds nothing. Workers act only on runs under their --shared root and
// on records their jobs were made for; status says "done" only of a release that is there; a server that never
// answers and a database the server lacks are one clear line each.
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { planDigest } from "../../src/poison/index.js";
import {
  chunkJobId,
  connectRetrying,
  crafterFile,
  parseRedisUrl,
  QUEUE_NAME,
  type RunRecord,
  type RunStatus,
  RunStore,
  recordDigest,
  runStatus,
} from "../../src/queue/index.js";
import { MARKER_FILE } from "../../src/util/ownership.js";
import { needs } from "../requirements.js";
import { freePort, REDIS_SERVER, sleep, startRedisServer, until } from "./redis-server.js";

const FMNIST = "/usr/share/datasets/fashion-mnist";
const CLI = join(process.cwd(), "dist/src/cli/main.js");
const ENV = { ...process.env, ADVPOISON_THREADS: "1", OMP_NUM_THREADS: "1" };
const CHUNKS = 8;

function cli(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env: ENV });
}

/** The CLI without blocking this process (which may be serving a fake server meanwhile), timed. */
async function cliAsync(
  args: string[],
): Promise<{ status: number | null; stdout: string; stderr: string; ms: number }> {
  const t0 = Date.now();
  try {
    // A hang is a failure of the test, not of the suite: killed after a minute (status null).
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, ...args], { env: ENV, timeout: 60_000 });
    return { status: 0, stdout, stderr, ms: Date.now() - t0 };
  } catch (e) {
    const { code, stdout, stderr } = e as { code?: unknown; stdout: string; stderr: string };
    return { status: typeof code === "number" ? code : null, stdout, stderr, ms: Date.now() - t0 };
  }
}

const execFileAsync = promisify(execFile);
const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

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
  timeout: 900_000,
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
  function startWorker(name: string, queueUrl = url): Worker {
    const args = [CLI, "worker", "--queue", queueUrl, "--shared", shared, "--lock-duration", "2000", "--name", name];
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

  /** Where a run's release goes: inside the shared directory, outside the runs' directories. */
  const releaseOf = (run: string) => join(shared, "releases", run);
  const enqueue = (run: string, extra: string[] = [], root = shared) =>
    cli([
      "craft",
      ...base,
      "--queue",
      url,
      "--run",
      run,
      "--shared",
      root,
      "--out",
      join(root, "releases", run),
      "--json",
      ...extra,
    ]);
  const sealOf = async (run: string) => recordDigest(await runs.require(run));
  const status = (run: string): Promise<RunStatus> => runStatus(queue, runs, run);
  const done = (run: string) => until(`run ${run} to be done`, async () => (await status(run)).state === "done");

  before(async () => {
    mkdirSync(shared, { recursive: true });
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
    // With a class-wise part, which each worker's child makes once per run before its chunks: a release's
    // bytes must still not depend on which worker crafted which chunk, nor on a worker's death.
    base.push("--crafter", crafter, "--class-share", "0.5", "--class-sample", "4");
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
    // w1's first job is active while its child loads the data and the model: kill it there. The worker records
    // itself in the run's workers on BullMQ's "active" event, one Redis round trip after the job turns active;
    // wait for that too, or a fast kill lands before it (seen on a slow CI machine).
    const digest = await sealOf("killed");
    const ids = Array.from({ length: CHUNKS }, (_, k) => chunkJobId("killed", digest, k));
    const victim = await until("w1 to take a chunk", async () => {
      if (!(await runs.workers("killed")).includes("w1")) return undefined;
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
    assert.deepEqual(releaseDigest(releaseOf("killed")), reference);
    const s = lastJson(cli(["queue", "status", url, "--run", "killed", "--json"]).stdout);
    assert.equal(s.state, "done");
    assert.deepEqual(s.chunks, { waiting: 0, active: 0, done: CHUNKS, failed: 0 });
    assert.ok(s.workers.includes("w1"), "status lists the workers seen");
    for (const w of [w2, w3]) {
      assert.equal(await stopWorker(w), 0, "SIGTERM: the worker exits cleanly");
      assert.match(w.log(), /SIGTERM: finishing the job\(s\) in hand, then exiting\n.*stopped/);
    }
  });

  test("status says done only of the run's release where the run says: not when missing, another plan's, or the record changed", async () => {
    const statusOf = () => lastJson(cli(["queue", "status", url, "--run", "killed", "--json"]).stdout);
    assert.equal(statusOf().state, "done");
    const release = releaseOf("killed");
    renameSync(release, `${release}.away`);
    const missing = statusOf();
    assert.equal(missing.state, "failed");
    assert.match(missing.error, /^release: .*killed: no manifest\.json/);
    renameSync(`${release}.away`, release);
    const manifestFile = join(release, "manifest.json");
    const manifest = readFileSync(manifestFile, "utf8");
    writeFileSync(manifestFile, manifest.replace(/"plan_digest":"\w+"/, '"plan_digest":"0123456789abcdef"'));
    const other = statusOf();
    assert.equal(other.state, "failed");
    assert.match(other.error, /^release: .* holds a release of plan 0123456789abcdef, not the run's \w+$/);
    writeFileSync(manifestFile, manifest);
    // The queue's record pointed at another release directory (Redis written by someone else).
    const key = "advpoison:run:killed";
    const stored = (await redis.get(key))!;
    const moved: RunRecord = { ...JSON.parse(stored), out: releaseOf("elsewhere") };
    await redis.set(key, JSON.stringify(moved));
    const r = cli(["queue", "status", url, "--run", "killed", "--json"]);
    assert.equal(lastJson(r.stdout).state, "failed");
    assert.match(
      lastJson(r.stdout).error,
      /^record: .*killed\/run\.json is not the record the queue's record of run 'killed' was made for/,
    );
    assert.match(r.stdout, /^run killed: failed, .*\n {2}error: record: /);
    await redis.set(key, stored);
    assert.equal(statusOf().state, "done");
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
    assert.deepEqual(releaseDigest(releaseOf("restarted")), reference);
    assert.match(w.log(), /cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+\/0 \([^)]+\); retrying/);
    assert.match(w.log(), /reconnected to Redis/);
    assert.equal(await stopWorker(w), 0);
  });

  test("a chunk that fails once is retried and succeeds", async () => {
    assert.equal(enqueue("flaky").status, 0);
    const flakyRec = await runs.require("flaky");
    const [file] = flakyRec.crafters.map((c) => crafterFile(flakyRec.dir, c.sha256));
    renameSync(file!, `${file}.away`);
    const w = startWorker("w5");
    await until("a failed attempt", async () => (await queue.getDelayedCount()) > 0);
    renameSync(`${file}.away`, file!);
    await done("flaky");
    const seal = await sealOf("flaky");
    const attempts = await Promise.all(
      Array.from({ length: CHUNKS }, async (_, k) => (await queue.getJob(chunkJobId("flaky", seal, k)))!),
    );
    assert.ok(attempts.some((j) => j.attemptsMade >= 2));
    assert.deepEqual(releaseDigest(releaseOf("flaky")), reference);
    assert.equal(await stopWorker(w), 0);
  });

  test("a chunk that always fails marks the run failed with its message; retry resumes it", async () => {
    assert.equal(enqueue("broken").status, 0);
    const brokenRec = await runs.require("broken");
    const [file] = brokenRec.crafters.map((c) => crafterFile(brokenRec.dir, c.sha256));
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
    assert.deepEqual(releaseDigest(releaseOf("broken")), reference);
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

  test("a damaged run record in Redis: status lists every other run and that one as unreadable", async () => {
    const key = "advpoison:run:killed";
    const stored = (await redis.get(key))!;
    try {
      await redis.set(key, '{"run": "killed", "plan": ');
      const all = cli(["queue", "status", url, "--json"]);
      assert.equal(all.status, 0, all.stderr);
      const listed = lastJson(all.stdout).runs as { run: string; state: string; error?: string }[];
      assert.ok(listed.length > 1, "only the damaged run listed");
      const damaged = listed.find((s) => s.run === "killed")!;
      assert.equal(damaged.state, "unreadable");
      assert.match(damaged.error!, /the queue's record of run 'killed'/);
      assert.ok(listed.some((s) => s.run !== "killed" && s.state !== "unreadable"));
      assert.match(all.stdout, /^run killed: unreadable\n {2}error: /m);
    } finally {
      await redis.set(key, stored);
    }
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
    const outside = ["craft", ...base, "--queue", url, "--run", "out1", "--shared", shared];
    fails(cli([...outside, "--out", join(tmp, "out1")]), /--out .*out1 leads to .*, outside the shared directory /);
    fails(cli([...outside, "--out", join(shared, "killed", "x")]), /inside run 'killed''s directory/);
    fails(cli([...outside, "--out", join(shared, "out1", "x")]), /inside the run's own directory/);
    fails(cli(["worker", "--queue", url]), /required option '--shared <dir>' not specified/);
    // A user's folder where the run's directory would be, holding a file merely named run.json: left alone.
    const users = join(shared, "theirs");
    mkdirSync(users, { recursive: true });
    writeFileSync(join(users, "run.json"), "{}");
    const theirs = ["craft", ...base, "--queue", url, "--run", "theirs", "--shared", shared];
    fails(cli([...theirs, "--out", join(shared, "theirs-out")]), /theirs exists and is not a queued run's directory/);
    assert.deepEqual(readdirSync(users), ["run.json"]);
  });

  test("a job whose directory is outside the worker's --shared is refused at once; nothing there is touched", async () => {
    // A valid run under another shared directory: its jobs are on the same queue, its files elsewhere.
    const elsewhere = join(tmp, "elsewhere");
    const e = enqueue("outsider", [], elsewhere);
    assert.equal(e.status, 0, e.stderr);
    const w = startWorker("w7");
    await until("the run to fail", async () => (await status("outsider")).state === "failed");
    const s = await status("outsider");
    const dir = join(elsewhere, "outsider");
    assert.match(
      s.error!,
      new RegExp(
        `^chunk \\d+: refused: the job's directory ${literal(dir)} is not ${literal(join(shared, "outsider"))}: this worker takes only runs under --shared `,
      ),
    );
    const job = (await queue.getJob(chunkJobId("outsider", await sealOf("outsider"), 0)))!;
    assert.equal(job.attemptsMade, 1, "a refused job is not retried");
    assert.deepEqual(
      readdirSync(join(dir, "chunks")).sort(),
      [MARKER_FILE, "plan.json"],
      "no chunk was crafted outside the root",
    );
    assert.equal(existsSync(join(elsewhere, "releases", "outsider")), false);
    assert.doesNotMatch(w.log(), /of run outsider: crafted/);
  });

  test("run.json changed after enqueuing (release moved out with --force, dataset or crafting model swapped): the run fails with one line, retry refuses it, the folder outside survives", async () => {
    // Someone's folder outside the shared directory, which --force could replace (an advpoison output).
    const sentinel = join(tmp, "sentinel");
    mkdirSync(sentinel, { recursive: true });
    writeFileSync(join(sentinel, "manifest.json"), '{"tool":"advpoison"}');
    writeFileSync(join(sentinel, "keep.txt"), "mine");
    const other = "f".repeat(64);
    const tampers: Record<string, (rec: RunRecord) => void> = {
      "tamper-out": (rec) => {
        rec.out = sentinel;
        rec.force = true;
      },
      "tamper-data": (rec) => {
        rec.plan.dataset.spec = `fashion-mnist:${join(tmp, "someone-else")}`;
        rec.digest = planDigest(rec.plan);
      },
      "tamper-crafter": (rec) => {
        rec.plan.crafters[0]!.sha256 = other;
        rec.crafters[0]!.sha256 = other;
        rec.digest = planDigest(rec.plan);
      },
    };
    for (const [run, tamper] of Object.entries(tampers)) {
      assert.equal(enqueue(run).status, 0);
      const file = join(shared, run, "run.json");
      const rec = JSON.parse(readFileSync(file, "utf8")) as RunRecord;
      tamper(rec);
      writeFileSync(file, JSON.stringify(rec));
    }
    // The record in Redis changed, run.json not: refused as well.
    assert.equal(enqueue("tamper-redis").status, 0);
    const redisSeal = await sealOf("tamper-redis");
    const key = "advpoison:run:tamper-redis";
    await redis.set(key, JSON.stringify({ ...JSON.parse((await redis.get(key))!), force: true }));
    startWorker("w8");
    for (const run of Object.keys(tampers)) {
      const file = join(shared, run, "run.json");
      // Status sees the change at once; the worker refuses every job of the run, each in one attempt.
      const s = lastJson(cli(["queue", "status", url, "--run", run, "--json"]).stdout) as RunStatus;
      assert.equal(s.state, "failed");
      assert.match(s.error!, new RegExp(`^record: ${literal(file)}`));
      const seal = await sealOf(run);
      const failed = await until(`${run}'s chunks to be refused`, async () => {
        const jobs = await Promise.all(
          Array.from({ length: CHUNKS }, (_, k) => queue.getJob(chunkJobId(run, seal, k))),
        );
        return jobs.every((j) => j?.finishedOn !== undefined && j.failedReason) ? jobs : undefined;
      });
      for (const job of failed) {
        assert.match(job!.failedReason, new RegExp(`^refused: ${literal(file)}[: ]`));
        assert.doesNotMatch(job!.failedReason, /\n/);
        assert.equal(job!.attemptsMade, 1, "a refused job is not retried");
      }
      assert.deepEqual(
        readdirSync(join(shared, run, "chunks")).sort(),
        [MARKER_FILE, "plan.json"],
        `${run}: nothing crafted`,
      );
    }
    const redisJob = await until("tamper-redis's chunk to be refused", async () => {
      const job = await queue.getJob(chunkJobId("tamper-redis", redisSeal, 0));
      return job?.failedReason ? job : undefined;
    });
    assert.match(
      redisJob.failedReason,
      /^refused: the queue's record of run 'tamper-redis' is not the record the job was made for/,
    );
    assert.deepEqual(readdirSync(join(shared, "tamper-redis", "chunks")).sort(), [MARKER_FILE, "plan.json"]);
    const reasonOf = async (run: string) => (await queue.getJob(chunkJobId(run, await sealOf(run), 0)))!.failedReason;
    assert.match(await reasonOf("tamper-data"), /is not the record the job of run 'tamper-data' was made for/);
    assert.match(await reasonOf("tamper-crafter"), /is not the record the job of run 'tamper-crafter' was made for/);
    assert.match(await reasonOf("tamper-out"), /the release .*sentinel is not inside the shared directory/);
    assert.deepEqual(readdirSync(sentinel).sort(), ["keep.txt", "manifest.json"]);
    assert.equal(readFileSync(join(sentinel, "keep.txt"), "utf8"), "mine");
    // Neither retry nor cancel + retry re-adds the jobs of a changed record.
    const retry = cli(["queue", "retry", url, "--run", "tamper-data"]);
    assert.equal(retry.status, 1);
    assert.match(
      retry.stderr,
      /tamper-data\/run\.json is not the record the queue's record of run 'tamper-data' was made for/,
    );
    assert.equal(cli(["queue", "cancel", url, "--run", "tamper-crafter"]).status, 0);
    const resumed = cli(["queue", "retry", url, "--run", "tamper-crafter"]);
    assert.equal(resumed.status, 1);
    assert.match(resumed.stderr, /tamper-crafter\/run\.json is not the record/);
  });

  test("an unreachable Redis is a clear error", async () => {
    const closed = await freePort();
    const r = cli(["queue", "status", `redis://127.0.0.1:${closed}`]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+\/0 \(ECONNREFUSED\) after 4 tries/);
  });

  test("a server that accepts and never answers: status, craft --queue and the worker each say so within seconds", {
    timeout: 120_000,
  }, async () => {
    const sockets: import("node:net").Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket)).listen(0, "127.0.0.1");
    await new Promise((resolve) => silent.once("listening", resolve));
    const silentUrl = `redis://127.0.0.1:${(silent.address() as { port: number }).port}`;
    const line =
      /no Redis at redis:\/\/127\.0\.0\.1:\d+\/0: the server accepted the connection but did not answer within 5 s/;
    try {
      const s = await cliAsync(["queue", "status", silentUrl]);
      assert.equal(s.status, 1);
      assert.match(s.stderr, line);
      assert.equal(s.stderr.trim().split("\n").length, 1, s.stderr);
      assert.ok(s.ms < 15_000, `status took ${s.ms} ms`);
      const c = await cliAsync([
        "craft",
        ...base,
        "--queue",
        silentUrl,
        "--run",
        "silent",
        "--shared",
        shared,
        "--out",
        releaseOf("silent"),
      ]);
      assert.equal(c.status, 1);
      assert.match(c.stderr, line);
      const w = startWorker("w9", silentUrl);
      await until(
        "the worker to say it gets no answer",
        async () =>
          /cannot reach Redis at .*\(the server accepted the connection but did not answer within 5 s\); retrying/.test(
            w.log(),
          ),
        15_000,
      );
      w.child.kill("SIGKILL");
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  test("a database the server does not have is one clear line, not database 0", { timeout: 120_000 }, async () => {
    const r = await cliAsync(["queue", "status", `${url}/99`]);
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /Redis at redis:\/\/127\.0\.0\.1:\d+\/99 has no database 99 \(ERR DB index is out of range\)/,
    );
    assert.doesNotMatch(r.stdout, /run /, "no run of database 0 is listed");
    const w = startWorker("w10", `${url}/99`);
    const code = await new Promise((resolve) => w.child.once("exit", resolve));
    assert.equal(code, 1);
    assert.match(w.log(), /has no database 99/);
  });
});
