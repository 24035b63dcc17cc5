// Fetching the official archives for users with a network: each file is streamed to a temporary
// directory beside the destination while its MD5 is computed, checked, unpacked if it is a .tar.gz,
// and the directory is renamed into place only when everything is there.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { writeFileDurable } from "../util/atomic.js";
import { DOWNLOAD_DEADLINE_MS, describeFetchError, fetchToFile, urlUnder } from "../util/fetch.js";
import { assertReplaceable, DOWNLOAD_FILE, writeMarker } from "../util/ownership.js";
import { checkDestination, commitDirectory, makeTempBeside } from "./atomic.js";
import { DatasetError } from "./errors.js";
import { decodeMaybeGzip, readBytes } from "./files.js";
import { defaultDownloadDir } from "./registry.js";
import { type DownloadableName, OFFICIAL_SOURCES, type Resource } from "./sources.js";
import { readTar } from "./tar.js";

export interface DownloadOptions {
  /** Destination directory; default $ADVPOISON_DATA/NAME or ~/.cache/advpoison/NAME. */
  dataDir?: string;
  /** Replace an existing destination. */
  force?: boolean;
  /** Base URLs to fetch the files from instead of the official ones (each file's name is appended). */
  mirrors?: readonly string[];
  /** Give up on a URL when no data arrives for this long; default 30 s. */
  stallTimeoutMs?: number;
  /** Give up on a URL when its file is not in after this long; default DOWNLOAD_DEADLINE_MS. */
  deadlineMs?: number;
  /** Progress messages (one per file and per failed URL). */
  log?: (message: string) => void;
}

/** Downloads a named dataset and returns the directory it is now in. */
export async function download(name: DownloadableName, options: DownloadOptions = {}): Promise<string> {
  const dest = options.dataDir ?? defaultDownloadDir(name);
  const resources = OFFICIAL_SOURCES[name].map((r) =>
    options.mirrors ? { ...r, urls: options.mirrors.map((m) => urlUnder(m, r.fileName)) } : r,
  );
  await installResources(dest, resources, options);
  return dest;
}

/** Fetches, verifies and unpacks `resources` into the new directory `dest`, atomically. */
export async function installResources(
  dest: string,
  resources: readonly Resource[],
  options: DownloadOptions = {},
): Promise<void> {
  checkDestination(dest, options.force ?? false);
  assertReplaceable(dest, "download");
  const tmp = makeTempBeside(dest);
  try {
    for (const resource of resources) {
      const file = join(tmp, resource.fileName);
      await fetchFirstWorking(resource, file, options);
      if (resource.extractDir !== undefined) {
        extractDirectory(file, resource.extractDir, tmp);
        rmSync(file);
      }
    }
    // What was fetched; the marker makes the directory advpoison's, so that a later --force may replace it.
    const record = resources.map(({ fileName, md5 }) => ({ fileName, md5 }));
    writeFileSync(join(tmp, DOWNLOAD_FILE), `${JSON.stringify({ tool: "advpoison", resources: record }, null, 2)}\n`);
    writeMarker(tmp, "download");
    commitDirectory(tmp, dest, options.force ?? false);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

async function fetchFirstWorking(resource: Resource, file: string, options: DownloadOptions): Promise<void> {
  const failures: string[] = [];
  for (const url of resource.urls) {
    options.log?.(`downloading ${url}`);
    try {
      const { digests } = await fetchToFile(url, file, {
        stallTimeoutMs: options.stallTimeoutMs ?? 30_000,
        deadlineMs: options.deadlineMs ?? DOWNLOAD_DEADLINE_MS,
        algorithms: ["md5"],
      });
      const md5 = digests.md5;
      if (md5 === resource.md5) return;
      failures.push(`${url}: checksum mismatch (MD5 ${md5}, expected ${resource.md5})`);
    } catch (e) {
      failures.push(`${url}: ${describeFetchError(e)}`);
    }
    options.log?.(`failed: ${failures.at(-1)}`);
  }
  throw new DatasetError(
    `could not download ${resource.fileName} (${failures.join("; ")}); ` +
      "if this machine is offline, fetch the file elsewhere and place the dataset by hand (see --data-dir)",
  );
}

/** Writes the files under `inner`/ of the .tar.gz `archive` into `dest`, without that prefix. */
function extractDirectory(archive: string, inner: string, dest: string): void {
  const tar = decodeMaybeGzip(readBytes(archive), archive).data;
  const prefix = `${inner}/`;
  const entries = readTar(tar, archive).filter((e) => e.path.startsWith(prefix));
  if (entries.length === 0) throw new DatasetError(`archive has no ${prefix} directory`, archive);
  for (const entry of entries) {
    const target = join(dest, entry.path.slice(prefix.length));
    mkdirSync(dirname(target), { recursive: true });
    writeFileDurable(target, entry.data);
  }
}
