// File reading with errors that name the file, and transparent gzip (recognised by its magic bytes, since
// names lie: a ".gz" may be plain and a plain name may be compressed).
import { existsSync, readFileSync, statSync } from "node:fs";
import { gunzipSync, constants as zlibConstants } from "node:zlib";
import { writeFileDurable } from "../util/atomic.js";
import { DatasetError } from "./errors.js";

/** A file's bytes as a plain Uint8Array, or a DatasetError naming the file. */
export function readBytes(path: string): Uint8Array {
  try {
    const buf = readFileSync(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    throw new DatasetError(`cannot read file: ${(e as Error).message}`, path);
  }
}

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * The most a gzip file may decompress to (1 GiB): far above any dataset file this toolkit reads (CIFAR-100's
 * training batch is 150 MB, Fashion-MNIST's 47 MB), far below what a small compressed file can claim.
 */
export const MAX_GUNZIP_BYTES = 2 ** 30;

export interface GunzipLimits {
  /**
   * The size the content's own format announces, from its first `headBytes` decompressed bytes (e.g. an
   * IDX header's dimensions); it throws on a head that is not that format. Checked against the gzip trailer
   * before the whole file is decompressed, so a bomb is rejected by its first kilobytes.
   */
  announcedSize?: (head: Uint8Array) => number;
  /** How many decompressed bytes `announcedSize` needs to see (fewer when the file is shorter). */
  headBytes?: number;
  /** Overrides MAX_GUNZIP_BYTES. */
  maxBytes?: number;
}

/** The file's content, gunzipped when it starts with the gzip magic. */
export function readMaybeGzip(path: string, limits: GunzipLimits = {}): { data: Uint8Array; gzip: boolean } {
  return decodeMaybeGzip(readBytes(path), path, limits);
}

/**
 * `raw` gunzipped when it starts with the gzip magic; `path` names the file in errors. Decompression stops
 * at the size the gzip trailer announces (ISIZE, exact for single-member files under 4 GiB, which every
 * dataset file is), at `limits.maxBytes` and at what `limits.announcedSize` reads from the content's header.
 */
export function decodeMaybeGzip(
  raw: Uint8Array,
  path: string,
  limits: GunzipLimits = {},
): { data: Uint8Array; gzip: boolean } {
  if (!isGzip(raw)) return { data: raw, gzip: false };
  if (raw.length < 18) throw new DatasetError(`truncated gzip data: ${raw.length} bytes`, path);
  const max = limits.maxBytes ?? MAX_GUNZIP_BYTES;
  const trailerSize = new DataView(raw.buffer, raw.byteOffset, raw.byteLength).getUint32(raw.length - 4, true);
  let expected = trailerSize;
  if (limits.announcedSize) {
    const announced = limits.announcedSize(gunzipHead(raw, limits.headBytes ?? 1024, path));
    if (announced > max) {
      throw new DatasetError(`its header announces ${announced} bytes, more than the ${max}-byte limit`, path);
    }
    if (announced % 2 ** 32 !== trailerSize) {
      throw new DatasetError(
        `corrupt or truncated gzip data: its header announces ${announced} bytes but the gzip trailer ${trailerSize}`,
        path,
      );
    }
    expected = announced;
  } else if (trailerSize > max) {
    throw new DatasetError(
      `corrupt, truncated or too large gzip data: its trailer announces ${trailerSize} bytes, more than the ${max}-byte limit`,
      path,
    );
  }
  let buf: Buffer;
  try {
    buf = gunzipSync(raw, { maxOutputLength: Math.max(expected, 1) });
  } catch (e) {
    if ((e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") {
      throw new DatasetError(`corrupt gzip data: decompresses to more than the ${expected} bytes announced`, path);
    }
    throw new DatasetError(`corrupt or truncated gzip data: ${(e as Error).message}`, path);
  }
  return { data: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), gzip: true };
}

/**
 * About the first `n` decompressed bytes of a gzip file (fewer if it is shorter), decompressing only a prefix
 * of the input: k compressed bytes expand to at most ~1032k, so a bomb cannot grow here.
 */
function gunzipHead(raw: Uint8Array, n: number, path: string): Uint8Array {
  for (let k = 256; ; k *= 4) {
    let head: Buffer;
    try {
      head = gunzipSync(raw.subarray(0, k), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    } catch (e) {
      throw new DatasetError(`corrupt or truncated gzip data: ${(e as Error).message}`, path);
    }
    if (head.length >= n || k >= raw.length) return new Uint8Array(head.buffer, head.byteOffset, head.byteLength);
    if (k >= 2 ** 16) throw new DatasetError("corrupt gzip data: no content in its first 64 KiB", path);
  }
}

/** Lines of a text file, trimmed, without blank ones (class-name files end in blank lines). */
export function readNameList(path: string): string[] {
  const text = new TextDecoder("utf-8").decode(readBytes(path));
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
}

export function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}

export function isDirectory(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/**
 * Writes one name per line to `path`; when `original` holds the same names it is copied instead, so an
 * unchanged dataset's metadata stays byte-identical (the official files end in blank lines).
 */
export function writeNameList(path: string, names: readonly string[], original?: string): void {
  if (original !== undefined && isFile(original)) {
    const originalNames = readNameList(original);
    if (originalNames.length === names.length && originalNames.every((n, i) => n === names[i])) {
      writeFileDurable(path, readBytes(original));
      return;
    }
  }
  writeFileDurable(path, `${names.join("\n")}\n`);
}
