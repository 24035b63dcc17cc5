// A real redis-server for tests and benches: a free loopback port, a temporary directory, the append-only
// file on (a restart loses nothing), stopped by its pid.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createServer } from "node:net";

export const REDIS_SERVER = "/usr/bin/redis-server";

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` every 25 ms until it gives a truthy value. */
export async function until<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Starts redis-server on `port` with its files in `dir` and waits until it answers. */
export async function startRedisServer(port: number, dir: string): Promise<ChildProcess> {
  mkdirSync(dir, { recursive: true });
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--appendonly", "yes", "--save", ""];
  const server = spawn(REDIS_SERVER, args, { stdio: "ignore" });
  await until("redis-server to listen", async () => {
    const probe = spawnSync("redis-cli", ["-p", String(port), "ping"], { encoding: "utf8" });
    return probe.stdout.trim() === "PONG";
  });
  return server;
}
