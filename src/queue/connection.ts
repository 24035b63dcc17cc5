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

const reason = (e: unknown) =>
  e === undefined
    ? "connection closed"
    : ((e as { code?: string }).code ?? (e instanceof Error ? e.message : String(e)));

/**
 * How long a server may take from accepting the connection to being ready. ioredis's connectTimeout ends at
 * the TCP connection: a server (or a proxy) that accepts and never answers would hold a client for ever.
 */
const HANDSHAKE_MS = 5000;
/** A command's deadline for one-shot clients (status, enqueue): longer than any of their commands takes. */
const COMMAND_MS = 15_000;
/**
 * A worker's connection is dropped (and made again) when no reply comes for this long while a command waits:
 * longer than BullMQ's longest blocking wait for a job (10 s, plus its 1 s watchdog), which a per-command
 * timeout would break.
 */
const WORKER_SOCKET_MS = 30_000;

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

/** Calls `late` when the server accepted a connection but has not become ready within HANDSHAKE_MS. */
function onSilentServer(redis: Redis, late: () => void): void {
  let timer: NodeJS.Timeout | undefined;
  const clear = () => clearTimeout(timer);
  redis.on("connect", () => {
    clear();
    timer = setTimeout(late, HANDSHAKE_MS);
  });
  redis.on("ready", clear);
  redis.on("close", clear);
}

const SILENT = `the server accepted the connection but did not answer within ${HANDSHAKE_MS / 1000} s`;

/**
 * ioredis selects the database quietly: a SELECT the server refuses leaves the connection on database 0. So
 * it is selected again here, where a refusal is an error.
 */
async function checkDatabase(redis: Redis, t: RedisTarget): Promise<void> {
  try {
    await redis.select(t.db);
  } catch (e) {
    redis.disconnect();
    throw new Error(`Redis at ${t.shown} has no database ${t.db} (${(e as Error).message})`);
  }
}

/** A client for a command: a few tries over ~3 s, each command given COMMAND_MS; then one clear error. */
export async function connectOnce(t: RedisTarget): Promise<Redis> {
  const tries = 4;
  let last: unknown;
  const redis = new Redis({
    ...baseOptions(t),
    commandTimeout: COMMAND_MS,
    retryStrategy: (times) => (times < tries ? 750 : null),
  });
  redis.on("error", (e) => {
    last = e;
  });
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const settle = (e?: Error) => {
      if (settled) return;
      settled = true;
      if (e) {
        redis.disconnect();
        reject(e);
      } else resolve();
    };
    redis.once("end", () =>
      settle(new Error(`cannot reach Redis at ${t.shown} (${reason(last)}) after ${tries} tries`)),
    );
    onSilentServer(redis, () => settle(new Error(`no Redis at ${t.shown}: ${SILENT}`)));
    redis.once("ready", () => settle());
  });
  await checkDatabase(redis, t);
  return redis;
}

/**
 * A client for a long-lived worker: reconnects for ever (Redis restarting, the network coming back, a server
 * that stops answering), printing the outage once and then every `quietMs`, and printing when it is back.
 */
export async function connectRetrying(t: RedisTarget, log: (line: string) => void, quietMs = 30_000): Promise<Redis> {
  let down: { since: number; said: number } | null = null;
  let last: unknown;
  const retryStrategy = (times: number) => Math.min(250 * 2 ** Math.min(times, 3), 2000);
  const redis = new Redis({ ...baseOptions(t), socketTimeout: WORKER_SOCKET_MS, retryStrategy });
  // ioredis reports a lost connection as "reconnecting" (an error event only when it has one to give).
  redis.on("error", (e) => {
    last = e;
  });
  onSilentServer(redis, () => {
    last = new Error(SILENT);
    // Dropped and made again by retryStrategy, which says so below.
    redis.disconnect(true);
  });
  redis.on("reconnecting", () => {
    const now = Date.now();
    if (!down) down = { since: now, said: 0 };
    if (now - down.said >= quietMs) {
      down.said = now;
      log(`cannot reach Redis at ${t.shown} (${reason(last)}); retrying`);
    }
  });
  redis.on("ready", () => {
    if (down) log(`reconnected to Redis at ${t.shown} after ${((Date.now() - down.since) / 1000).toFixed(1)} s`);
    down = null;
    last = undefined;
  });
  await new Promise<void>((resolve) => redis.once("ready", () => resolve()));
  await checkDatabase(redis, t);
  return redis;
}
