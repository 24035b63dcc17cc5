// JSON with object keys in sorted order at every depth, so that equal values give equal text (and equal
// digests) whatever order their keys were built or parsed in. Values are JSON's own: what JSON.stringify drops
// (undefined, functions) is dropped here too.
import { createHash } from "node:crypto";

export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

/** sha256 (hex) of the value's canonical JSON. */
export const canonicalDigest = (value: unknown): string =>
  createHash("sha256").update(canonicalJson(value)).digest("hex");
