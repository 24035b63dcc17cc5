// What `--force` may replace: only directories advpoison itself made, recognised by the marker file advpoison
// writes into each (its tool name, the kind of output and a checksum of both), never by a file name a user's
// folder could hold by chance (a thesis folder with a run.json in it). Anything else is refused, so no command
// deletes it.
import { createHash } from "node:crypto";
import { existsSync, lstatSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "./atomic.js";

/** A release's manifest (`tool: "advpoison"` inside). */
export const MANIFEST_FILE = "manifest.json";
/** A crafting work directory's plan. */
export const PLAN_FILE = "plan.json";
/** A finished `advpoison train` run's record. */
export const RUN_FILE = "run.json";
/** What `advpoison download` fetched into a dataset or weights directory (names and checksums). */
export const DOWNLOAD_FILE = ".advpoison-download.json";
/** The journal of an unfinished `advpoison protect` (its finished output has a manifest.json). */
export const PROTECT_JOURNAL = ".advpoison-protect.jsonl";
/** The ownership marker: advpoison made this directory, as this kind of output. */
export const MARKER_FILE = ".advpoison-output.json";

export const OUTPUT_KINDS = [
  "release",
  "dataset",
  "crafting work directory",
  "training run",
  "download",
  "protected photo tree",
  "queue run",
  "audit",
] as const;
export type OutputKind = (typeof OUTPUT_KINDS)[number];

interface Marker {
  tool: "advpoison";
  kind: OutputKind;
  checksum: string;
}

const checksumOf = (kind: string) => createHash("sha256").update(`advpoison\0${kind}`).digest("hex");

/** Marks `dir` (which advpoison is making) as its output of `kind`. */
export function writeMarker(dir: string, kind: OutputKind): void {
  const marker: Marker = { tool: "advpoison", kind, checksum: checksumOf(kind) };
  writeFileAtomic(join(dir, MARKER_FILE), `${JSON.stringify(marker)}\n`);
}

/** The kind of output advpoison made `dir` as, or undefined where it holds no valid marker. */
export function outputKind(dir: string): OutputKind | undefined {
  const path = join(dir, MARKER_FILE);
  try {
    if (!lstatSync(path).isFile()) return undefined;
    const m = JSON.parse(readFileSync(path, "utf-8")) as Partial<Marker>;
    const kind = OUTPUT_KINDS.find((k) => k === m.kind);
    return m.tool === "advpoison" && kind !== undefined && m.checksum === checksumOf(kind) ? kind : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Throws unless `dest` may be replaced: absent, an empty directory, or a directory advpoison marked as its own
 * (of `kind`, where given). Called wherever an existing output is about to be replaced (with --force).
 */
export function assertReplaceable(dest: string, kind?: OutputKind): void {
  if (!existsSync(dest)) return;
  if (!statSync(dest).isDirectory()) {
    throw new Error(`${dest} is a file, not an advpoison output directory; --force replaces only those`);
  }
  if (readdirSync(dest).length === 0) return;
  const found = outputKind(dest);
  if (found === undefined) {
    throw new Error(
      `${dest} is not an advpoison output (no valid ${MARKER_FILE}); --force replaces only what advpoison made: ` +
        "choose another --out or empty it yourself",
    );
  }
  if (kind !== undefined && found !== kind) {
    throw new Error(`${dest} is advpoison's ${found}, not a ${kind}; choose another --out or delete it yourself`);
  }
}

/** Deletes `dir` if advpoison marked it as its `kind` (or it is gone already); anything else is left alone. */
export function removeOwned(dir: string, kind: OutputKind): void {
  if (!existsSync(dir)) return;
  if (outputKind(dir) !== kind)
    throw new Error(`${dir}: not advpoison's ${kind} (no valid ${MARKER_FILE}); left in place`);
  rmSync(dir, { recursive: true, force: true });
}
