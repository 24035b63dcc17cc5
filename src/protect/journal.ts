// The journal of an unfinished protection (OUT/.advpoison-protect.jsonl): the run's settings digest, then for each
// photo a line when it is started and one when it is written or skipped, so that a killed run continues where it
// stopped and a photo that runs keep dying on (killed, out of memory) is skipped instead of killing every rerun.
// The output directory is advpoison's own: a resumed run refuses one that holds a symbolic link (planted there,
// it could lead later writes elsewhere), and the journal is appended through a descriptor that follows no link.
import {
  appendFileSync,
  closeSync,
  constants,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
} from "node:fs";
import { join } from "node:path";
import { MANIFEST_FILE, removeOwned, writeMarker } from "../util/ownership.js";
import { walkTree } from "../util/paths.js";
import { journalLineSchema, type PhotoRecord, PROTECT_JOURNAL, type SkippedPhoto } from "./manifest.js";

export interface Attempt {
  path: string;
  source_sha256: string;
}

/** What an earlier run of the same settings left: finished and skipped photos, and every photo it started. */
export interface JournalState {
  photos: PhotoRecord[];
  skipped: SkippedPhoto[];
  /** Photos started but never finished or skipped after: each start, by path. */
  unfinished: Map<string, Attempt[]>;
}

type JournalLine = { photo: PhotoRecord } | { skipped: SkippedPhoto } | { attempt: Attempt };

export class Journal {
  readonly #fd: number;
  constructor(readonly path: string) {
    // O_NOFOLLOW: a link put in the journal's place makes this fail rather than append elsewhere.
    this.#fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW);
  }
  append(line: JournalLine | { settings_sha256: string }): void {
    appendFileSync(this.#fd, `${JSON.stringify(line)}\n`);
  }
  close(): void {
    closeSync(this.#fd);
  }
}

/** The journal's records of a run under `digest`, or undefined when the journal is another run's. */
function readJournal(path: string, digest: string): JournalState | undefined {
  if (!lstatSync(path).isFile()) throw new Error(`${path}: not a plain file; remove it or use --force`);
  const state: JournalState = { photos: [], skipped: [], unfinished: new Map() };
  let first = true;
  for (const line of readFileSync(path, "utf-8").split("\n")) {
    if (!line) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      parsed = undefined; // a line torn by the crash: that photo is done again
    }
    const r = journalLineSchema.safeParse(parsed);
    if (first) {
      if (!r.success || !("settings_sha256" in r.data) || r.data.settings_sha256 !== digest) return undefined;
      first = false;
    } else if (!r.success) continue;
    else if ("photo" in r.data) {
      state.photos.push(r.data.photo);
      state.unfinished.delete(r.data.photo.path);
    } else if ("skipped" in r.data) {
      state.skipped.push(r.data.skipped);
      state.unfinished.delete(r.data.skipped.path);
    } else if ("attempt" in r.data) {
      const { path } = r.data.attempt;
      state.unfinished.set(path, [...(state.unfinished.get(path) ?? []), r.data.attempt]);
    }
  }
  return first ? undefined : state;
}

/** Refuses to continue in an `out` that holds anything advpoison never writes: a link, a device, a pipe. */
function assertOnlyOwnEntries(out: string): void {
  for (const e of walkTree(out, { hidden: true }))
    if (e.kind === "symlink" || e.kind === "other")
      throw new Error(
        `${join(out, e.rel)}: a ${e.kind === "symlink" ? "symbolic link" : "special file"} in the output, ` +
          "which advpoison never writes; remove it or start over with --force",
      );
}

/**
 * Prepares `out` (a real path): continues a journal of the same run, or starts afresh where that is allowed
 * (empty or absent, or advpoison's own protected tree with --force).
 */
export function openOut(out: string, digest: string, force: boolean): { journal: Journal; state: JournalState } {
  const path = join(out, PROTECT_JOURNAL);
  if (existsSync(out) && !lstatSync(out).isDirectory()) throw new Error(`${out}: not a directory`);
  if (existsSync(path)) {
    const state = readJournal(path, digest);
    if (state) {
      assertOnlyOwnEntries(out);
      return { journal: new Journal(path), state };
    }
    if (!force)
      throw new Error(`${out}: holds another protection run (other settings or source); use --force to replace it`);
  } else if (existsSync(join(out, MANIFEST_FILE))) {
    if (!force) throw new Error(`${out}: already holds a finished protection; use --force to replace it`);
  } else if (existsSync(out) && readdirSync(out).length > 0 && !force) {
    throw new Error(`${out}: exists and is not empty; choose another --out`);
  }
  if (existsSync(out) && readdirSync(out).length > 0) removeOwned(out, "protected photo tree");
  mkdirSync(out, { recursive: true });
  writeMarker(out, "protected photo tree");
  const journal = new Journal(path);
  journal.append({ settings_sha256: digest });
  return { journal, state: { photos: [], skipped: [], unfinished: new Map() } };
}
