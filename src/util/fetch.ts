// Streaming an HTTP(S) download into a file while hashing it, for `advpoison download` (datasets and model
// weights). Redirects are followed by hand so that the headers of every hop can be read: Hugging Face answers a
// file's resolve URL with a redirect to its CDN whose own headers carry the file's sha256 (X-Linked-Etag), which
// the CDN's final response does not repeat.
import { createHash } from "node:crypto";
import { closeSync, fsyncSync, openSync, writeSync } from "node:fs";

export interface FetchToFileOptions {
  /** Give up when no data arrives for this long. */
  stallTimeoutMs: number;
  /** Give up when the whole transfer takes longer than this (a server dripping a byte now and then). */
  deadlineMs: number;
  /** Digests of the body to compute, by node:crypto name ("md5", "sha256"). */
  algorithms: readonly string[];
  /** Called once the final response's headers are in, before any body byte is read: it may throw to stop. */
  onHeaders?: (hops: readonly Response[], final: Response) => void;
  /** Redirects to follow at most; default 10. */
  maxRedirects?: number;
}

export interface FetchedFile {
  /** Hex digest of what arrived, per algorithm asked for. */
  digests: Record<string, string>;
  /** How many body bytes arrived. */
  bytes: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** How long one file may take in all, by default: an hour (CIFAR-100's 161 MB at 50 kB/s). */
export const DOWNLOAD_DEADLINE_MS = 3600_000;

/** Streams `url` (following redirects) into `file` and returns the digests and size of what arrived. */
export async function fetchToFile(url: string, file: string, options: FetchToFileOptions): Promise<FetchedFile> {
  const controller = new AbortController();
  const { stallTimeoutMs, deadlineMs } = options;
  const stalled = () => controller.abort(new Error(`no data for ${stallTimeoutMs / 1000} s`));
  let timer = setTimeout(stalled, stallTimeoutMs);
  const deadline = setTimeout(
    () => controller.abort(new Error(`not done after ${deadlineMs / 1000} s in all`)),
    deadlineMs,
  );
  // Files are fetched as they are: a compressed body would be inflated by fetch() without any bound.
  const request = {
    signal: controller.signal,
    redirect: "manual",
    headers: { "accept-encoding": "identity" },
  } as const;
  const fd = openSync(file, "w");
  try {
    const hops: Response[] = [];
    let response = await fetch(url, request);
    while (REDIRECTS.has(response.status)) {
      const location = response.headers.get("location");
      if (!location) throw new Error(`HTTP ${response.status} without a Location header`);
      if (hops.length >= (options.maxRedirects ?? 10)) throw new Error(`more than ${hops.length} redirects`);
      await response.body?.cancel();
      hops.push(response);
      response = await fetch(new URL(location, response.url || url), request);
    }
    if (!response.ok || !response.body) throw new Error(`HTTP ${response.status} ${response.statusText}`);
    const encoding = response.headers.get("content-encoding");
    if (encoding && encoding !== "identity") {
      await response.body.cancel();
      throw new Error(`the server compressed the file (Content-Encoding: ${encoding}) though asked not to`);
    }
    options.onHeaders?.(hops, response);
    const hashes = options.algorithms.map((a) => [a, createHash(a)] as const);
    let bytes = 0;
    try {
      for await (const chunk of response.body) {
        clearTimeout(timer);
        timer = setTimeout(stalled, stallTimeoutMs);
        for (const [, h] of hashes) h.update(chunk);
        bytes += chunk.length;
        let offset = 0;
        while (offset < chunk.length) offset += writeSync(fd, chunk, offset, chunk.length - offset);
      }
    } catch (e) {
      throw new Error(`the transfer broke off after ${bytes} bytes: ${describeFetchError(e)}`);
    }
    fsyncSync(fd);
    return { digests: Object.fromEntries(hashes.map(([a, h]) => [a, h.digest("hex")])), bytes };
  } finally {
    clearTimeout(timer);
    clearTimeout(deadline);
    closeSync(fd);
  }
}

/** `file` under the base URL `base`, whether or not the base ends with a slash. */
export function urlUnder(base: string, file: string): string {
  return new URL(file, base.endsWith("/") ? base : `${base}/`).href;
}

/** fetch() reports network failures as "fetch failed" with the real reason in `cause`. */
export function describeFetchError(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  const cause = err.cause;
  if (cause?.code === "ECONNREFUSED") return "connection refused (ECONNREFUSED)";
  if (cause?.code === "ENOTFOUND" || cause?.code === "EAI_AGAIN") return `host not found (${cause.code}): offline?`;
  if (cause?.code) return `${cause.message ?? err.message} (${cause.code})`;
  return cause?.message ? `${err.message}: ${cause.message}` : err.message;
}
