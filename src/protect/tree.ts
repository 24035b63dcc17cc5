// The photo collection a data owner hands over: every PNG/JPEG/WebP under a directory, nested as it likes,
// in a fixed (sorted) order. Labels come from class folders when every photo sits in one (ImageFolder's layout:
// DIR/CLASS/.../photo); otherwise the collection is unlabeled. Only paths are held: photos are decoded one by one.
// Symbolic links are never followed (a link may lead out of the collection, or to a photo it holds already):
// each is reported, so that nothing under the directory is left out silently.
import { statSync } from "node:fs";
import { extname, join } from "node:path";
import { walkTree } from "../util/paths.js";

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
  /** Files under the root that are not photos (by extension, or not regular files): reported, never copied. */
  readonly ignored: readonly string[];
  /** Symbolic links under the root (to photos or anything else), relative paths: reported, never followed. */
  readonly links: readonly string[];
}

export const isPhotoName = (name: string) =>
  (PHOTO_EXTENSIONS as readonly string[]).includes(extname(name).toLowerCase());

/** Indexes the photos under `root` (hidden files and directories skipped). */
export function indexPhotoTree(root: string): PhotoTree {
  const st = statSync(root, { throwIfNoEntry: false });
  if (!st) throw new Error(`${root}: no such directory`);
  if (!st.isDirectory()) throw new Error(`${root}: not a directory`);
  const files: { rel: string; path: string; bytes: number }[] = [];
  const ignored: string[] = [];
  const links: string[] = [];
  for (const e of walkTree(root, { hidden: false })) {
    const path = join(root, e.rel);
    if (e.kind === "symlink") links.push(e.rel);
    else if (e.kind === "file" && isPhotoName(e.rel)) files.push({ rel: e.rel, path, bytes: statSync(path).size });
    else if (e.kind !== "directory") ignored.push(e.rel);
  }
  if (files.length === 0)
    throw new Error(
      `${root}: no photos (${PHOTO_EXTENSIONS.join(", ")}) under it` +
        (links.length > 0 ? ` (${links.length} symbolic links, which are not followed)` : ""),
    );
  const labelled = files.every((f) => f.rel.includes("/"));
  if (!labelled) return { root, photos: files, classNames: [], ignored, links };
  const classNames = [...new Set(files.map((f) => f.rel.split("/")[0]!))].sort();
  const index = new Map(classNames.map((c, i) => [c, i]));
  return {
    root,
    photos: files.map((f) => ({ ...f, label: index.get(f.rel.split("/")[0]!)! })),
    classNames,
    ignored,
    links,
  };
}
