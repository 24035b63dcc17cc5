// Where the queue lives: a redis://HOST:PORT[/DB] address, checked before anything connects, and ioredis
// clients that either fail fast with one clear line (commands) or keep retrying and say so (workers).
import { Redis, type RedisOptions } from "ioredis";

export interface RedisTarget {
  host: string;
  port: number;
  db: number;
  password?: string;
  /** The address without its password, for messages. */
  shown: string;
}

const FORM = "redis://HOST:PORT[/DB]";

export function parseRedisUrl(text: string): RedisTarget {
  const bad = (why: string) => new Error(`--queue must be ${FORM}, got '${text}' (${why})`);
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw bad("not a URL");
  }
  if (u.protocol !== "redis:") throw bad(`scheme '${u.protocol.replace(/:$/, "")}', not redis`);
  const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
  if (!host) throw bad("no host");
  if (u.search || u.hash) throw bad("no query or fragment is taken");
  const port = u.port ? Number(u.port) : 6379;
  if (port < 1) throw bad("port 0");
  const path = u.pathname.replace(/^\//, "");
  if (path !== "" && !/^\d+$/.test(path)) throw bad(`database '${path}' is not a number`);
  const db = path === "" ? 0 : Number(path);
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  return { host, port, db, ...(password ? { password } : {}), shown: `redis://${u.host}/${db}` };
}

const reason = (e: unknown) => (e as { code?: string }).code ?? (e instanceof Error ? e.message : String(e));

function baseOptions(t: RedisTarget): RedisOptions {
  return {
    host: t.host,
    port: t.port,
    db: t.db,
    ...(t.password ? { password: t.password } : {}),
    // BullMQ's workers block on Redis and require it; commands wait out a reconnect instead of failing.
    maxRetriesPerRequest: null,
    connectTimeout: 5000,
  };
}

/** A client for a command: a few tries over ~3 s, then one clear error naming the address. */
export async function connectOnce(t: RedisTarget): Promise<Redis> {
  const tries = 4;
  let last: unknown;
  const redis = new Redis({ ...baseOptions(t), retryStrategy: (times) => (times < tries ? 750 : null) });
  redis.on("error", (e) => {
    last = e;
  });
  await new Promise<void>((resolve, reject) => {
    const onEnd = () => reject(new Error(`cannot reach Redis at ${t.shown} (${reason(last)}) after ${tries} tries`));
    redis.once("end", onEnd);
    redis.once("ready", () => {
      redis.off("end", onEnd);
      resolve();
    });
  });
  return redis;
}

/**
 * A client for a long-lived worker: reconnects for ever (Redis restarting, the network coming back),
 * printing the outage once and then every `quietMs`, and printing when it is back.
 */
export async function connectRetrying(t: RedisTarget, log: (line: string) => void, quietMs = 30_000): Promise<Redis> {
  let down: { since: number; said: number } | null = null;
  let last: unknown;
  const retryStrategy = (times: number) => Math.min(250 * 2 ** Math.min(times, 3), 2000);
  const redis = new Redis({ ...baseOptions(t), retryStrategy });
  // ioredis reports a lost connection as "reconnecting" (an error event only when it has one to give).
  redis.on("error", (e) => {
    last = e;
  });
  redis.on("reconnecting", () => {
    const now = Date.now();
    if (!down) down = { since: now, said: 0 };
    if (now - down.said >= quietMs) {
      down.said = now;
      log(`cannot reach Redis at ${t.shown} (${last === undefined ? "connection closed" : reason(last)}); retrying`);
    }
  });
  redis.on("ready", () => {
    if (down) log(`reconnected to Redis at ${t.shown} after ${((Date.now() - down.since) / 1000).toFixed(1)} s`);
    down = null;
    last = undefined;
  });
  await new Promise<void>((resolve) => redis.once("ready", () => resolve()));
  return redis;
}
