// Atomic file replacement: write a hidden temporary file beside the destination, fsync it, rename it over the
// destination. Readers see the old file or the new one, never a torn one, whatever happens in between.
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";

/**
 * Writes and fsyncs a file, so a later rename never publishes a name whose data is still in flight. `data` may
 * come in parts (an iterable of byte arrays), written as they come: a file larger than memory never is whole.
 */
export function writeFileDurable(path: string, data: Uint8Array | string | Iterable<Uint8Array>): void {
  const parts = typeof data === "string" ? [Buffer.from(data, "utf-8")] : data instanceof Uint8Array ? [data] : data;
  const fd = openSync(path, "w");
  try {
    for (const bytes of parts) {
      let offset = 0;
      while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function fsyncDir(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A hidden, unused name in `dest`'s directory (same file system, so renames from it are atomic). */
export function pathBeside(dest: string, purpose: string): string {
  const abs = resolve(dest);
  const suffix = `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  return join(dirname(abs), `.${basename(abs)}.${purpose}-${suffix}`);
}

/**
 * When this process started, in ms since the epoch (less a second for clock granularity): names carrying our
 * pid made before it are a dead namesake's (a container's pid 1 is every run's).
 */
const STARTED_MS = Date.now() - process.uptime() * 1000 - 1000;

/** Whether the process that made a pathBeside() name (pid, creation time) may still be writing it. */
function writerMayBeAlive(pid: number, createdMs: number): boolean {
  if (pid === process.pid) return createdMs >= STARTED_MS;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes the temporaries (".NAME.tmp-*") and set-aside old versions (".NAME.old-*") of `dest` that a killed
 * write left beside it. Those of a writer still running (its pid is alive) are left alone, so two processes
 * writing the same target never delete each other's work in flight.
 */
export function removeStaleBeside(dest: string): void {
  const abs = resolve(dest);
  const dir = dirname(abs);
  const prefix = `.${basename(abs)}.`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return; // no directory yet: nothing stale in it
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(?:tmp|old)-(\d+)-([0-9a-z]+)-[0-9a-z]+$/.exec(name.slice(prefix.length));
    if (!m || writerMayBeAlive(Number(m[1]), Number.parseInt(m[2]!, 36))) continue;
    rmSync(join(dir, name), { recursive: true, force: true });
  }
}

/** Replaces `dest` with `data` atomically; its directory must exist (a mistyped path is not created). */
export function writeFileAtomic(dest: string, data: Uint8Array | string): void {
  removeStaleBeside(dest);
  const tmp = pathBeside(dest, "tmp");
  try {
    writeFileDurable(tmp, data);
    renameSync(tmp, dest);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDir(dirname(resolve(dest)));
}
