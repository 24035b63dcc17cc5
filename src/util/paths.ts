// Paths as the filesystem has them. Checks that one directory lies inside another compare real paths (a
// symbolic link can make a directory outside look inside, and the reverse); walks list links as links and never
// follow them; writes below an output directory go only through real directories, so a link planted inside it
// cannot lead them elsewhere.
import { closeSync, constants, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";

/** Whether anything is at `path`, without following a link there (a dangling link exists; realpath of it fails). */
export function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Where `path` really is: the real path of its deepest existing ancestor (itself when it exists) and the rest. */
export function realPath(path: string): string {
  const abs = resolve(path);
  let existing = abs;
  while (!exists(existing)) existing = dirname(existing);
  return join(realpathSync(existing), relative(existing, abs));
}

/** Whether `path` is `dir` or lies below it (both absolute, compared as given). */
export function isInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === "" || !(rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel));
}

export type EntryKind = "file" | "directory" | "symlink" | "other";

export interface TreeEntry {
  /** Relative to the walked root, "/"-separated. */
  rel: string;
  kind: EntryKind;
}

const kindOf = (st: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }): EntryKind =>
  st.isSymbolicLink() ? "symlink" : st.isDirectory() ? "directory" : st.isFile() ? "file" : "other";

/**
 * Every entry under `root` (directories too, before what they hold), in code-unit order of names so that the
 * order is the same on every machine; links are listed, not followed; hidden entries (a leading dot) and all
 * below them are left out unless `hidden`.
 */
export function walkTree(root: string, o: { hidden: boolean }): TreeEntry[] {
  const out: TreeEntry[] = [];
  const walk = (rel: string) => {
    const entries = readdirSync(rel ? join(root, rel) : root, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    );
    for (const e of entries) {
      if (!o.hidden && e.name.startsWith(".")) continue;
      const path = rel ? `${rel}/${e.name}` : e.name;
      const kind = kindOf(e);
      out.push({ rel: path, kind });
      if (kind === "directory") walk(path);
    }
  };
  walk("");
  return out;
}

/**
 * Makes `root`/`relDir` as real directories, each one below `root` checked with lstat: a link or a file on the
 * way is an error, so what is written there stays inside `root`. Returns the directory's path.
 */
export function realDirBelow(root: string, relDir: string): string {
  let dir = root;
  for (const part of relDir.split("/").filter((p) => p !== "")) {
    dir = join(dir, part);
    let kind: EntryKind | undefined;
    try {
      kind = kindOf(lstatSync(dir));
    } catch {
      mkdirSync(dir);
      continue;
    }
    if (kind !== "directory")
      throw new Error(
        `${dir} is a ${kind === "symlink" ? "symbolic link" : kind}, not a directory: nothing is written through it`,
      );
  }
  return dir;
}

/** A file's bytes, refusing (ELOOP) when `path` itself is a symbolic link. */
export function readFileNoFollow(path: string): Buffer {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}
