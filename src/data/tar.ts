// A minimal reader for the (gunzipped) tar archives the datasets ship in: ustar and old GNU headers,
// GNU long names and pax "path" records; regular files and directories only (links are skipped).
import { DatasetError } from "./errors.js";

export interface TarEntry {
  /** The entry's path inside the archive, "/"-separated, never absolute and never containing "..". */
  readonly path: string;
  readonly data: Uint8Array;
}

const BLOCK = 512;

function text(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  return new TextDecoder("utf-8").decode(nul < 0 ? bytes : bytes.subarray(0, nul));
}

function octal(bytes: Uint8Array, field: string, where: string): number {
  const s = text(bytes).trim();
  if (!/^[0-7]*$/.test(s)) throw new DatasetError(`corrupt tar archive: bad ${field} "${s}"`, where);
  return s.length === 0 ? 0 : Number.parseInt(s, 8);
}

function safePath(raw: string, where: string): string {
  const parts = raw.split("/").filter((p) => p !== "" && p !== ".");
  if (raw.startsWith("/") || parts.includes("..")) throw new DatasetError(`unsafe path in tar archive: ${raw}`, where);
  return parts.join("/");
}

/** `entries`, unless one file's path is a folder on another's way (no directory can hold both). */
function withoutClashes(entries: TarEntry[], where: string): TarEntry[] {
  const files = new Set(entries.map((e) => e.path));
  for (const { path } of entries) {
    const parts = path.split("/");
    for (let i = 1; i < parts.length; i++) {
      const folder = parts.slice(0, i).join("/");
      if (files.has(folder))
        throw new DatasetError(`corrupt tar archive: ${folder} is both a file and the folder of ${path}`, where);
    }
  }
  return entries;
}

/** The regular files of a tar archive; `where` names the archive in errors. */
export function readTar(archive: Uint8Array, where: string): TarEntry[] {
  const entries: TarEntry[] = [];
  let longName: string | undefined;
  let at = 0;
  while (at + BLOCK <= archive.length) {
    const header = archive.subarray(at, at + BLOCK);
    if (header.every((b) => b === 0)) return withoutClashes(entries, where); // end-of-archive marker
    const stored = octal(header.subarray(148, 156), "checksum", where);
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
    if (sum !== stored) throw new DatasetError(`corrupt tar archive: header checksum mismatch at byte ${at}`, where);
    const size = octal(header.subarray(124, 136), "size", where);
    const type = String.fromCharCode(header[156]!);
    const dataStart = at + BLOCK;
    if (dataStart + size > archive.length) throw new DatasetError("truncated tar archive", where);
    const data = archive.subarray(dataStart, dataStart + size);
    at = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    if (type === "L") {
      longName = text(data);
      continue;
    }
    if (type === "x") {
      longName = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(new TextDecoder("utf-8").decode(data))?.[1] ?? longName;
      continue;
    }
    // Only POSIX ustar ("ustar\0") has a name prefix field; old GNU headers ("ustar  ") keep times there.
    const isUstar = text(header.subarray(257, 263)) === "ustar";
    const prefix = isUstar ? text(header.subarray(345, 500)) : "";
    const name = longName ?? (prefix ? `${prefix}/${text(header.subarray(0, 100))}` : text(header.subarray(0, 100)));
    longName = undefined;
    if (type === "0" || type === "\0") entries.push({ path: safePath(name, where), data });
  }
  throw new DatasetError(`truncated tar archive: no end-of-archive marker after byte ${at}`, where);
}
