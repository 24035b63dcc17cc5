// Atomic output: a dataset is written into a hidden temporary directory beside its destination and renamed
// into place only once complete and synced, so a crash leaves either nothing or the whole dataset (plus a
// stray ".NAME.tmp-*" directory that never looks like a dataset and that the next write to NAME removes),
// never a half-written one under NAME.
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fsyncDir, pathBeside, removeStaleBeside } from "../util/atomic.js";
import { assertReplaceable, type OutputKind, writeMarker } from "../util/ownership.js";
import { DatasetError } from "./errors.js";

/** Throws unless `dest` is free or `force` allows replacing it. */
export function checkDestination(dest: string, force: boolean): void {
  if (existsSync(dest) && !force) {
    throw new DatasetError("output already exists; pass --force (force: true) to overwrite it", dest);
  }
}

/** A fresh hidden temporary directory beside `dest` (the stale ones of killed writes to `dest` removed). */
export function makeTempBeside(dest: string): string {
  mkdirSync(dirname(resolve(dest)), { recursive: true });
  removeStaleBeside(dest);
  const tmp = pathBeside(dest, "tmp");
  mkdirSync(tmp);
  return tmp;
}

/**
 * Moves the finished temporary directory `tmp` to `dest`. An existing `dest` is replaced only with
 * `force`: it is first renamed aside, so a crash in between leaves `dest` absent, not mixed.
 */
export function commitDirectory(tmp: string, dest: string, force: boolean): void {
  const abs = resolve(dest);
  fsyncDir(tmp);
  if (existsSync(abs)) {
    if (!force) {
      rmSync(tmp, { recursive: true, force: true });
      checkDestination(abs, force);
    }
    const old = pathBeside(abs, "old");
    renameSync(abs, old);
    renameSync(tmp, abs);
    rmSync(old, { recursive: true, force: true });
  } else {
    renameSync(tmp, abs);
  }
  fsyncDir(dirname(abs));
}

/**
 * Fills a temporary directory with `fill`, marks it as advpoison's output of `kind` and commits it to `dest`; on
 * any error nothing is left behind. `force` replaces only an empty directory or one advpoison marked as its own.
 */
export function writeDirectoryAtomic(
  dest: string,
  force: boolean,
  kind: OutputKind,
  fill: (dir: string) => void,
): void {
  checkDestination(dest, force);
  assertReplaceable(dest);
  const tmp = makeTempBeside(dest);
  try {
    fill(tmp);
    writeMarker(tmp, kind);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  commitDirectory(tmp, dest, force);
}
