// Checks a protected tree against its source, photo by photo (never more than one in memory): every source photo
// is protected or listed as skipped, no other photo is in the copy, each written file is the one the manifest
// names (sha256), decodes at its source's size, and stays within eps of the source after decoding; a source that
// changed since is reported too.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { MANIFEST_FILE } from "../util/ownership.js";
import { decodePhoto } from "./codec.js";
import { PROTECT_KIND, type ProtectManifest, protectManifestSchema, sha256 } from "./manifest.js";
import { linf } from "./quality.js";
import { indexPhotoTree } from "./tree.js";

export interface ProtectedVerification {
  ok: boolean;
  problems: string[];
  checked: { photos: number; skipped: number; maxLinf: number };
}

export function readProtectManifest(out: string): ProtectManifest {
  const path = join(out, MANIFEST_FILE);
  if (!existsSync(path)) throw new Error(`${out}: no ${MANIFEST_FILE}: not a protected photo tree (or not finished)`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf-8"));
  } catch (e) {
    throw new Error(`${path}: not JSON (${(e as Error).message})`);
  }
  if ((json as { kind?: unknown }).kind !== PROTECT_KIND)
    throw new Error(`${path}: not a protected photo tree's manifest`);
  const r = protectManifestSchema.safeParse(json);
  if (!r.success)
    throw new Error(
      `${path}: malformed manifest (${r.error.issues[0]?.path.join(".")}: ${r.error.issues[0]?.message})`,
    );
  return r.data;
}

/** Verifies the protected tree `out` against `source` and the L-inf budget `eps` (grey levels). */
export async function verifyProtected(out: string, source: string, eps: number): Promise<ProtectedVerification> {
  const m = readProtectManifest(out);
  const problems: string[] = [];
  if (m.settings.eps > eps) problems.push(`the manifest's eps ${m.settings.eps} is above the budget ${eps}`);
  const src = indexPhotoTree(resolve(source));
  const listed = new Set([...m.photos.map((p) => p.path), ...m.skipped.map((s) => s.path)]);
  for (const p of src.photos)
    if (!listed.has(p.rel)) problems.push(`${p.rel}: in the source but not protected nor skipped`);
  const copy = existsSync(out) ? indexPhotoTree(out).photos : [];
  const written = new Set(m.photos.map((p) => p.path));
  for (const p of copy)
    if (!written.has(p.rel)) problems.push(`${p.rel}: in the protected tree but not in the manifest`);
  let maxLinf = 0;
  for (const p of m.photos) {
    const srcPath = join(source, p.path);
    const outPath = join(out, p.path);
    if (!existsSync(srcPath)) {
      problems.push(`${p.path}: its source photo is gone`);
      continue;
    }
    if (!existsSync(outPath)) {
      problems.push(`${p.path}: missing from the protected tree`);
      continue;
    }
    const srcBytes = new Uint8Array(readFileSync(srcPath));
    const outBytes = new Uint8Array(readFileSync(outPath));
    if (sha256(srcBytes) !== p.source_sha256)
      problems.push(`${p.path}: the source photo changed since it was protected`);
    if (sha256(outBytes) !== p.sha256)
      problems.push(`${p.path}: the protected photo was changed (sha256 differs from the manifest)`);
    try {
      const [a, b] = [await decodePhoto(srcBytes, srcPath), await decodePhoto(outBytes, outPath)];
      if (a.width !== b.width || a.height !== b.height) {
        problems.push(`${p.path}: ${b.width}x${b.height}, but its source is ${a.width}x${a.height}`);
        continue;
      }
      const d = linf(a.rgb, b.rgb);
      maxLinf = Math.max(maxLinf, d);
      if (d > eps) problems.push(`${p.path}: L-inf ${d} after decoding, above the budget ${eps}`);
      if (d !== p.linf) problems.push(`${p.path}: L-inf ${d}, but the manifest says ${p.linf}`);
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  return {
    ok: problems.length === 0,
    problems,
    checked: { photos: m.photos.length, skipped: m.skipped.length, maxLinf },
  };
}
