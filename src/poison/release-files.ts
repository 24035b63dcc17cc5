// A release's file list: every file under the release directory but the manifest and the ownership marker, with its size and
// sha256, recorded when the release is written and compared by verify (missing, extra, changed files).
import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { MANIFEST_FILE, MARKER_FILE } from "../util/ownership.js";

export interface FileEntry {
  size: number;
  sha256: string;
}

/** Every entry under `dir` by "/"-separated relative path, sorted; anything not a regular file is marked. */
export function listReleaseFiles(dir: string): Record<string, FileEntry | "not a regular file"> {
  const out: Record<string, FileEntry | "not a regular file"> = {};
  const walk = (rel: string) => {
    const names = readdirSync(join(dir, rel)).sort();
    for (const name of names) {
      const path = rel ? `${rel}/${name}` : name;
      if (path === MANIFEST_FILE || path === MARKER_FILE) continue;
      const st = lstatSync(join(dir, path));
      if (st.isDirectory()) walk(path);
      else if (!st.isFile()) out[path] = "not a regular file";
      else
        out[path] = {
          size: st.size,
          sha256: createHash("sha256")
            .update(readFileSync(join(dir, path)))
            .digest("hex"),
        };
    }
  };
  walk("");
  return out;
}

/** The files of a release just written (all regular files): what its manifest records. */
export function recordReleaseFiles(dir: string): Record<string, FileEntry> {
  const files = listReleaseFiles(dir);
  for (const [path, entry] of Object.entries(files)) {
    if (entry === "not a regular file") throw new Error(`${join(dir, path)}: not a regular file in a new release`);
  }
  return files as Record<string, FileEntry>;
}

/** One line per file that is missing, extra or changed against the manifest's list. */
export function fileProblems(recorded: Readonly<Record<string, FileEntry>>, dir: string): string[] {
  const present = listReleaseFiles(dir);
  const problems: string[] = [];
  for (const [path, want] of Object.entries(recorded)) {
    const got = present[path];
    if (got === undefined) problems.push(`missing file ${path}`);
    else if (got === "not a regular file") problems.push(`${path} is not a regular file`);
    else if (got.size !== want.size)
      problems.push(`changed file ${path}: ${got.size} bytes, manifest says ${want.size}`);
    else if (got.sha256 !== want.sha256) problems.push(`changed file ${path}: its sha256 differs from the manifest's`);
  }
  for (const path of Object.keys(present)) {
    if (!Object.hasOwn(recorded, path)) problems.push(`extra file ${path}: not part of the release`);
  }
  return problems;
}
