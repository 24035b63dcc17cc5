// Atomic file replacement: write a hidden temporary file beside the destination, fsync it, rename it over the
// destination. Readers see the old file or the new one, never a torn one, whatever happens in between.
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";

/** Writes and fsyncs a file, so a later rename never publishes a name whose data is still in flight. */
export function writeFileDurable(path: string, data: Uint8Array | string): void {
  const bytes = typeof data === "string" ? Buffer.from(data, "utf-8") : data;
  const fd = openSync(path, "w");
  try {
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
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

/** Replaces `dest` with `data` atomically; its directory must exist (a mistyped path is not created). */
export function writeFileAtomic(dest: string, data: Uint8Array | string): void {
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
