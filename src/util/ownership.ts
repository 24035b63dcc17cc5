// What `--force` may replace: only directories advpoison itself wrote, recognised by the file each kind
// carries. Anything else (a user's folder given as --out by mistake) is refused, so no command deletes it.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

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

function isAdvpoisonManifest(path: string): boolean {
  try {
    return (JSON.parse(readFileSync(path, "utf-8")) as { tool?: unknown }).tool === "advpoison";
  } catch {
    return false;
  }
}

/** What advpoison wrote `dir` as ("a release", ...), or undefined when it is not recognisably advpoison's. */
export function advpoisonOutputKind(dir: string): string | undefined {
  if (existsSync(join(dir, MANIFEST_FILE)) && isAdvpoisonManifest(join(dir, MANIFEST_FILE))) return "a release";
  if (existsSync(join(dir, PLAN_FILE))) return "a crafting work directory";
  if (existsSync(join(dir, RUN_FILE))) return "a training run";
  if (existsSync(join(dir, DOWNLOAD_FILE))) return "a download";
  if (existsSync(join(dir, PROTECT_JOURNAL))) return "an unfinished protected photo tree";
  return undefined;
}

/**
 * Throws unless `dest` may be replaced: absent, an empty directory, or a directory advpoison wrote. Called
 * wherever an existing output is about to be replaced (with --force).
 */
export function assertReplaceable(dest: string): void {
  if (!existsSync(dest)) return;
  if (!statSync(dest).isDirectory()) {
    throw new Error(`${dest} is a file, not an advpoison output directory; --force replaces only those`);
  }
  if (readdirSync(dest).length === 0 || advpoisonOutputKind(dest) !== undefined) return;
  throw new Error(
    `${dest} is not an advpoison output (no ${MANIFEST_FILE} of a release, ${PLAN_FILE}, ${RUN_FILE}, ${DOWNLOAD_FILE} or ${PROTECT_JOURNAL}); ` +
      "--force replaces only those: choose another --out or empty it yourself",
  );
}
