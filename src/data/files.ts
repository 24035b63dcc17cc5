// File reading with errors that name the file, and transparent gzip (recognised by its magic bytes, since
// names lie: a ".gz" may be plain and a plain name may be compressed).
import { existsSync, readFileSync, statSync } from "node:fs";
import { gunzipSync } from "node:zlib";
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

/** The file's content, gunzipped when it starts with the gzip magic. */
export function readMaybeGzip(path: string): { data: Uint8Array; gzip: boolean } {
  return decodeMaybeGzip(readBytes(path), path);
}

/** `raw` gunzipped when it starts with the gzip magic; `path` names the file in errors. */
export function decodeMaybeGzip(raw: Uint8Array, path: string): { data: Uint8Array; gzip: boolean } {
  if (!isGzip(raw)) return { data: raw, gzip: false };
  try {
    const buf = gunzipSync(raw);
    return { data: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), gzip: true };
  } catch (e) {
    throw new DatasetError(`corrupt or truncated gzip data: ${(e as Error).message}`, path);
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
