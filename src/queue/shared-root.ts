// The shared directory as the filesystem has it: a worker acts only on runs under its own --shared root, and
// only on paths that stay inside it once symlinks are followed (a link planted in the shared directory must
// not lead a worker's reads or writes elsewhere). Enqueuing resolves its paths the same way, so a record holds
// real paths and a worker on a machine with the same layout finds them unchanged.
import { existsSync, mkdirSync, realpathSync, statSync } from "node:fs";
import { basename, join, relative, resolve, sep } from "node:path";
import { exists, isInside, realPath } from "../util/paths.js";
import { chunkDir, crafterFile, type RunRecord, releaseDirProblem } from "./run-record.js";

/** The file that marks a run's directory (and holds its record). */
export const RUN_FILE = "run.json";

/** The real path of a shared root, created when `create` and missing; one clear line when unusable. */
export function sharedRoot(dir: string, create = false): string {
  const path = resolve(dir);
  if (create) mkdirSync(path, { recursive: true });
  if (!existsSync(path)) throw new Error(`--shared ${dir} does not exist`);
  if (!statSync(path).isDirectory()) throw new Error(`--shared ${dir} is not a directory`);
  return realpathSync(path);
}

/**
 * Where `path` really is: the real path of its deepest existing ancestor (itself when it exists) followed by
 * the rest. Throws unless that lies inside `root` (a real path), naming `what`.
 */
export function realInside(root: string, path: string, what: string): string {
  const real = realPath(path);
  if (relative(root, real) === "" || !isInside(real, root))
    throw new Error(`${what} ${path} leads to ${real}, outside the shared directory ${root}`);
  return real;
}

/** The run's directory under `root`, checked to be a plain directory there (no link out of it). */
export function runDirIn(root: string, run: string): string {
  const dir = join(root, run);
  if (realInside(root, dir, `run '${run}''s directory`) !== dir)
    throw new Error(`run '${run}''s directory ${dir} is a link: runs must be plain directories of ${root}`);
  return dir;
}

/** Throws unless `out` may receive run `run`'s release: releaseDirProblem, no link out, no other run's directory. */
export function checkReleaseDir(root: string, out: string, run: string): void {
  const problem = releaseDirProblem(root, out, run);
  if (problem) throw new Error(problem);
  if (realInside(root, out, "the release") !== out)
    throw new Error(`the release ${out} goes through a link; give its real path inside ${root}`);
  const top = relative(root, out).split(sep)[0]!;
  if (exists(join(root, top, RUN_FILE)))
    throw new Error(`the release ${out} is inside run '${top}''s directory: releases go outside runs' directories`);
}

/**
 * The filesystem half of a record's check (parseRunRecord did the rest): the run is `root`/RUN with no link
 * out, the release may go where it says, the crafting models are files of the run's directory.
 */
export function checkRunPaths(rec: RunRecord, root: string): void {
  const dir = runDirIn(root, rec.run);
  if (rec.dir !== dir)
    throw new Error(`run '${rec.run}' lives in ${rec.dir}, not under this worker's --shared ${root}`);
  checkReleaseDir(root, rec.out, rec.run);
  // Read (crafting models) and written (chunks): a link among them would lead a worker out of the root.
  for (const path of [chunkDir(rec), ...rec.crafters.map((c) => crafterFile(dir, c.sha256))])
    if (realInside(root, path, basename(path)) !== path)
      throw new Error(`${path} goes through a link: a run's files must be its own`);
}
