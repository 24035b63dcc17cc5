// The photo collection a data owner hands over: every PNG/JPEG/WebP under a directory, nested as it likes,
// in a fixed (sorted) order. Labels come from class folders when every photo sits in one (ImageFolder's layout:
// DIR/CLASS/.../photo); otherwise the collection is unlabeled. Only paths are held: photos are decoded one by one.
import { readdirSync, statSync } from "node:fs";
import { extname, join, relative, sep } from "node:path";

export const PHOTO_EXTENSIONS = [".png", ".jpg", ".jpeg", ".webp"] as const;

export interface Photo {
  /** Path relative to the tree's root, with "/" separators: also its path in the protected copy. */
  readonly rel: string;
  readonly path: string;
  readonly bytes: number;
  /** Index into the tree's classNames, when the tree has class folders. */
  readonly label?: number;
}

export interface PhotoTree {
  readonly root: string;
  readonly photos: readonly Photo[];
  /** Sorted class folder names; empty for an unlabeled collection. */
  readonly classNames: readonly string[];
  /** Files under the root that are not photos (by extension), relative paths: reported, never copied silently. */
  readonly ignored: readonly string[];
}

const isPhoto = (name: string) => (PHOTO_EXTENSIONS as readonly string[]).includes(extname(name).toLowerCase());

/** Indexes the photos under `root` (hidden files and directories skipped). */
export function indexPhotoTree(root: string): PhotoTree {
  const st = statSync(root, { throwIfNoEntry: false });
  if (!st) throw new Error(`${root}: no such directory`);
  if (!st.isDirectory()) throw new Error(`${root}: not a directory`);
  const files: { rel: string; path: string; bytes: number }[] = [];
  const ignored: string[] = [];
  const walk = (dir: string) => {
    // Sorted by code unit, so the order (and each photo's seed) is the same on every machine.
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      if (e.name.startsWith(".")) continue;
      const path = join(dir, e.name);
      const rel = relative(root, path).split(sep).join("/");
      if (e.isDirectory()) walk(path);
      else if (e.isFile() && isPhoto(e.name)) files.push({ rel, path, bytes: statSync(path).size });
      else if (e.isFile()) ignored.push(rel);
    }
  };
  walk(root);
  if (files.length === 0) throw new Error(`${root}: no photos (${PHOTO_EXTENSIONS.join(", ")}) under it`);
  const labelled = files.every((f) => f.rel.includes("/"));
  if (!labelled) return { root, photos: files, classNames: [], ignored };
  const classNames = [...new Set(files.map((f) => f.rel.split("/")[0]!))].sort();
  const index = new Map(classNames.map((c, i) => [c, i]));
  return {
    root,
    photos: files.map((f) => ({ ...f, label: index.get(f.rel.split("/")[0]!)! })),
    classNames,
    ignored,
  };
}
