// Checks a protected tree against its source, photo by photo (never more than one in memory): every source photo
// (and every symbolic link, which protect never follows) is protected or listed as skipped with its reason; the copy
// holds the manifest's photos and advpoison's own files and nothing else (no hidden or non-photo file, no link, no
// skipped photo); each written file is the one the manifest names (sha256), decodes at its source's size, stays
// within eps of the source after decoding and differs from it (a source copied over its protected photo is not
// protected); a source that changed since is reported too. Both trees are walked without following links and
// the manifest's paths may not climb out of them, so verify reads nothing outside the two directories.
import { join, resolve } from "node:path";
import type { Verdict } from "../poison/index.js";
import { REPORT_HTML, REPORT_JSON } from "../report/index.js";
import { MANIFEST_FILE, MARKER_FILE } from "../util/ownership.js";
import { readFileNoFollow, walkTree } from "../util/paths.js";
import { decodePhoto } from "./codec.js";
import { PROTECT_KIND, type ProtectManifest, protectManifestSchema, sha256 } from "./manifest.js";
import { linf } from "./quality.js";
import { indexPhotoTree } from "./tree.js";

/** The verdict on a protected photo tree: poison's Verdict, over photos. */
export type ProtectedVerification = Verdict<{ photos: number; skipped: number; maxLinf: number }>;

/** What protect writes beside the photos. */
const OWN_FILES: ReadonlySet<string> = new Set([MANIFEST_FILE, REPORT_HTML, REPORT_JSON, MARKER_FILE]);

export function readProtectManifest(out: string): ProtectManifest {
  const path = join(out, MANIFEST_FILE);
  let text: string;
  try {
    text = readFileNoFollow(path).toString("utf-8");
  } catch {
    throw new Error(`${out}: no ${MANIFEST_FILE}: not a protected photo tree (or not finished)`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
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

/** What is wrong with the files of the copy itself: anything but the manifest's photos and advpoison's own files. */
function copyProblems(out: string, m: ProtectManifest): { problems: string[]; files: Set<string> } {
  const written = new Set(m.photos.map((p) => p.path));
  const skipped = new Set(m.skipped.map((s) => s.path));
  const problems: string[] = [];
  const files = new Set<string>();
  for (const e of walkTree(out, { hidden: true })) {
    if (e.kind === "directory") continue;
    if (e.kind === "symlink") problems.push(`${e.rel}: a symbolic link in the protected tree`);
    else if (e.kind === "other") problems.push(`${e.rel}: not a regular file, in the protected tree`);
    else if (skipped.has(e.rel)) problems.push(`${e.rel}: listed as skipped, but in the protected tree`);
    else if (written.has(e.rel)) files.add(e.rel);
    else if (!OWN_FILES.has(e.rel)) problems.push(`${e.rel}: in the protected tree but not in the manifest`);
  }
  return { problems, files };
}

/** Verifies the protected tree `out` against `source` and the L-inf budget `eps` (grey levels). */
export async function verifyProtected(out: string, source: string, eps: number): Promise<ProtectedVerification> {
  const m = readProtectManifest(out);
  const problems: string[] = [];
  if (m.settings.eps > eps) problems.push(`the manifest's eps ${m.settings.eps} is above the budget ${eps}`);
  if (m.photos.length === 0) problems.push("the manifest lists no protected photo");
  const root = resolve(source);
  const src = indexPhotoTree(root);
  const sources = new Set(src.photos.map((p) => p.rel));
  const listed = new Set([...m.photos.map((p) => p.path), ...m.skipped.map((s) => s.path)]);
  for (const rel of [...sources, ...src.links])
    if (!listed.has(rel)) problems.push(`${rel}: in the source but not protected nor skipped`);
  const copy = copyProblems(out, m);
  problems.push(...copy.problems);
  let maxLinf = 0;
  for (const p of m.photos) {
    if (!sources.has(p.path)) {
      problems.push(`${p.path}: its source photo is gone (or no longer a regular file)`);
      continue;
    }
    if (!copy.files.has(p.path)) {
      problems.push(`${p.path}: missing from the protected tree`);
      continue;
    }
    const [srcPath, outPath] = [join(root, p.path), join(out, p.path)];
    const srcBytes = readFileNoFollow(srcPath);
    const outBytes = readFileNoFollow(outPath);
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
      if (d === 0) problems.push(`${p.path}: decodes to its source's very pixels: not protected`);
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
