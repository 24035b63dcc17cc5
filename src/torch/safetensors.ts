// The Hugging Face safetensors format: an 8-byte little-endian header length, a JSON header naming each
// tensor's dtype, shape and byte range, then the raw little-endian data. No code runs on load, unlike pickle.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { writeFileAtomic } from "../util/atomic.js";
import { fromBytes } from "./creation.js";
import { type DType, ITEM_SIZE } from "./dtype.js";
import type { Tensor } from "./tensor.js";

const FORMAT_DTYPE: Record<DType, string> = {
  float64: "F64",
  float32: "F32",
  float16: "F16",
  bfloat16: "BF16",
  int64: "I64",
  int32: "I32",
  int16: "I16",
  int8: "I8",
  uint8: "U8",
  bool: "BOOL",
};
const DTYPE_OF_FORMAT = new Map(Object.entries(FORMAT_DTYPE).map(([dtype, name]) => [name, dtype as DType]));

// The reference writer lays tensors out by descending rank of this order (the declaration order of its Dtype
// enum), then by name, so that every tensor's data starts aligned to its item size.
const REFERENCE_DTYPE_RANK = ["BOOL", "U8", "I8", "I16", "F16", "BF16", "I32", "F32", "F64", "I64"];

const METADATA_KEY = "__metadata__";
// The reference reader refuses larger headers too: a corrupt length must not make us allocate gigabytes.
const MAX_HEADER_BYTES = 100_000_000;

export type TensorDict = Record<string, Tensor> | Map<string, Tensor>;

export interface Safetensors {
  tensors: Map<string, Tensor>;
  /** The header's free-form string metadata ({} when the file has none). */
  metadata: Record<string, string>;
}

interface Entry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

export interface EncodeOptions {
  /** A metadata key under which to record the sha256 of the data section (see dataSha256). */
  dataSha256Key?: string;
}

/** sha256 (hex) of the data section of safetensors `bytes`: every tensor's bytes, as laid out in the file. */
export function dataSha256(bytes: Uint8Array): string {
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  return createHash("sha256")
    .update(bytes.subarray(8 + headerLength))
    .digest("hex");
}

/** Serialises tensors (any device or layout) and optional string metadata to safetensors bytes. */
export function encodeSafetensors(
  tensors: TensorDict,
  metadata?: Record<string, string>,
  options: EncodeOptions = {},
): Uint8Array {
  const items = [...(tensors instanceof Map ? tensors.entries() : Object.entries(tensors))].map(([name, t]) => {
    if (name === METADATA_KEY) throw new Error(`safetensors: '${name}' cannot name a tensor`);
    const formatDtype = FORMAT_DTYPE[t.dtype];
    return { name, formatDtype, shape: t.shape, bytes: t.toBytes() };
  });
  items.sort(
    (a, b) =>
      REFERENCE_DTYPE_RANK.indexOf(b.formatDtype) - REFERENCE_DTYPE_RANK.indexOf(a.formatDtype) ||
      Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)),
  );

  const header: Record<string, unknown> = {};
  let meta = metadata;
  if (options.dataSha256Key !== undefined) {
    // The data section is the items' bytes in this order: hashed here, before the header that records it.
    const hash = createHash("sha256");
    for (const it of items) hash.update(it.bytes);
    meta = { ...meta, [options.dataSha256Key]: hash.digest("hex") };
  }
  if (meta !== undefined) header[METADATA_KEY] = checkedMetadata(meta, "safetensors");
  let offset = 0;
  for (const it of items) {
    header[it.name] = { dtype: it.formatDtype, shape: it.shape, data_offsets: [offset, offset + it.bytes.length] };
    offset += it.bytes.length;
  }
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const headerLength = Math.ceil(json.length / 8) * 8;

  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const it of items) {
    out.set(it.bytes, at);
    at += it.bytes.length;
  }
  return out;
}

/**
 * Parses safetensors bytes into CPU tensors; `source` names the file in error messages. The whole header is
 * checked before any tensor is made, and a failure leaves no tensor allocated.
 */
export function decodeSafetensors(bytes: Uint8Array, source = "<buffer>"): Safetensors {
  const fail = (problem: string): never => {
    throw new Error(`safetensors file '${source}': ${problem}`);
  };
  if (bytes.length < 8) fail(`${bytes.length} bytes is too short to hold the 8-byte header length`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(bytes.length - 8)) {
    fail(`header length ${headerLength} exceeds the ${bytes.length - 8} bytes after the length field`);
  }
  if (headerLength > BigInt(MAX_HEADER_BYTES)) fail(`header length ${headerLength} exceeds ${MAX_HEADER_BYTES}`);
  const headerEnd = 8 + Number(headerLength);

  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, headerEnd)));
  } catch (e) {
    fail(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(header)) return fail("header must be a JSON object");

  const metadata =
    header[METADATA_KEY] === undefined ? {} : checkedMetadata(header[METADATA_KEY], `safetensors file '${source}'`);
  const entries = Object.entries(header)
    .filter(([name]) => name !== METADATA_KEY)
    .map(([name, info]) => parseEntry(name, info, fail));
  checkLayout(entries, bytes.length - headerEnd, fail);

  const tensors = new Map<string, Tensor>();
  try {
    for (const e of entries) {
      const data = bytes.subarray(headerEnd + e.begin, headerEnd + e.end);
      if (e.dtype === "bool" && data.some((b) => b > 1))
        fail(`tensor '${e.name}': BOOL data holds a byte other than 0/1`);
      tensors.set(e.name, fromBytes(data, e.shape, e.dtype));
    }
  } catch (err) {
    for (const t of tensors.values()) t.dispose();
    throw err;
  }
  return { tensors, metadata };
}

function parseEntry(name: string, info: unknown, fail: (problem: string) => never): Entry {
  const where = `tensor '${name}'`;
  if (!isPlainObject(info)) return fail(`${where}: expected {dtype, shape, data_offsets}`);
  const { dtype: formatDtype, shape, data_offsets: offsets } = info;
  if (typeof formatDtype !== "string") return fail(`${where}: dtype must be a string`);
  const dtype = DTYPE_OF_FORMAT.get(formatDtype);
  if (dtype === undefined) {
    return fail(`${where}: unsupported dtype '${formatDtype}' (supported: ${[...DTYPE_OF_FORMAT.keys()].join(", ")})`);
  }
  if (!Array.isArray(shape) || !shape.every(isNonNegativeInt)) {
    return fail(`${where}: shape must be an array of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInt)) {
    return fail(`${where}: data_offsets must be [begin, end] with non-negative integers`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) fail(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
  const expected = (shape as number[]).reduce((n, d) => n * d, ITEM_SIZE[dtype]);
  if (expected !== end - begin) {
    fail(
      `${where}: shape [${shape.join(", ")}] of ${formatDtype} needs ${expected} bytes, data_offsets span ${end - begin}`,
    );
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

/** The byte ranges must tile the data buffer exactly: no gap, no overlap, nothing outside or left over. */
function checkLayout(entries: Entry[], dataLength: number, fail: (problem: string) => never): void {
  const byStart = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous = "the start of the data";
  for (const e of byStart) {
    if (e.end > dataLength) {
      fail(`tensor '${e.name}': data_offsets [${e.begin}, ${e.end}] run past the ${dataLength}-byte data buffer`);
    }
    if (e.begin < covered) fail(`tensor '${e.name}': data_offsets [${e.begin}, ${e.end}] overlap ${previous}`);
    if (e.begin > covered) fail(`bytes [${covered}, ${e.begin}) between ${previous} and tensor '${e.name}' are unused`);
    covered = e.end;
    previous = `tensor '${e.name}'`;
  }
  if (covered !== dataLength) fail(`bytes [${covered}, ${dataLength}) after ${previous} are unused`);
}

function checkedMetadata(value: unknown, where: string): Record<string, string> {
  if (!isPlainObject(value) || !Object.values(value).every((v) => typeof v === "string")) {
    throw new Error(`${where}: ${METADATA_KEY} must map strings to strings`);
  }
  return { ...(value as Record<string, string>) };
}

/** Writes a safetensors file atomically: a crash leaves the old file or the new one, never half of one. */
export function saveSafetensors(path: string, tensors: TensorDict, metadata?: Record<string, string>): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** Reads a safetensors file into CPU tensors. */
export function loadSafetensors(path: string): Safetensors {
  return decodeSafetensors(readFileSync(path), path);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isNonNegativeInt(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}
