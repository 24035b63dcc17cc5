// `protect`: a photo tree in, the same tree out, each photo at its own size and format, carrying a perturbation
// within eps that makes the crafting models learn-proof in the paper's sense (targeted: pushed to pi(label),
// untargeted: away from it). One photo at a time, so memory does not grow with the collection; every finished
// photo is written atomically and journalled, so a killed run continues where it stopped; the manifest and
// the HTML report come at the end.
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Module } from "../nn/index.js";
import { type Objective, targeted, untargeted } from "../poison/objective.js";
import { manualSeed, noGrad, scope, tensor } from "../torch/index.js";
import { type Progress, silentProgress } from "../train/progress.js";
import { writeFileAtomic } from "../util/atomic.js";
import { yieldToEventLoop } from "../util/event-loop.js";
import { MANIFEST_FILE, removeOwned, writeMarker } from "../util/ownership.js";
import { VERSION } from "../util/version.js";
import { attackPhoto, ensembleLogits } from "./attack.js";
import { decodePhoto, evalResize, formatOfPath } from "./codec.js";
import { encodeWithinBudget } from "./encode.js";
import {
  journalLineSchema,
  type PhotoRecord,
  PROTECT_JOURNAL,
  PROTECT_KIND,
  PROTECT_REPORT,
  type ProtectManifest,
  type ProtectSettings,
  type ProtectSummary,
  type SkippedPhoto,
  settingsDigest,
  sha256,
} from "./manifest.js";
import { linf, meanSsim, psnr } from "./quality.js";
import { renderProtectReport } from "./report.js";
import { indexPhotoTree, type Photo, type PhotoTree } from "./tree.js";

export interface ProtectOptions {
  source: string;
  out: string;
  /** Frozen crafting models (see prepareForCrafting), and what the manifest says of them. */
  models: readonly Module[];
  crafters: ProtectSettings["crafters"];
  numClasses: number;
  method: "targeted" | "untargeted";
  /** Grey levels. */
  eps: number;
  steps: number;
  /** Grey levels per step. */
  stepSize: number;
  views: number;
  inputSide: number;
  /** auto: the class folders when the tree has as many as the crafter has classes, else its predictions. */
  labels: "auto" | "folders" | "predicted";
  jpegQuality: number;
  /** Grey levels of the budget left to JPEG's re-encoding error: JPEG photos are crafted within eps - margin. */
  jpegMargin: number;
  seed: number;
  precision: "fp32" | "bf16";
  device?: string;
  /** Start over in an `out` that holds another run's (or a finished) protection. */
  force?: boolean;
  progress?: Progress;
}

export interface ProtectResult {
  manifest: ProtectManifest;
  /** Photos restored from the journal of an earlier, interrupted run. */
  resumed: number;
}

const OBJECTIVES: Record<ProtectOptions["method"], Objective> = { targeted, untargeted };

function labelsOf(tree: PhotoTree, o: ProtectOptions): "folders" | "predicted" {
  const fits = tree.classNames.length === o.numClasses;
  if (o.labels === "predicted") return "predicted";
  if (o.labels === "folders") {
    if (tree.classNames.length === 0)
      throw new Error(`${tree.root}: --labels folders, but the photos are not all in class folders`);
    if (!fits)
      throw new Error(
        `${tree.root}: ${tree.classNames.length} class folders, but the crafting model has ${o.numClasses} classes; ` +
          "use --labels predicted or a crafter trained on these classes",
      );
    return "folders";
  }
  return fits ? "folders" : "predicted";
}

/** A 31-bit seed for one photo: the same however the collection is ordered or resumed. */
const photoSeed = (seed: number, rel: string) => Number.parseInt(sha256(`${seed}:${rel}`).slice(0, 7), 16);

/** The journal's records of a run under `digest`, or undefined when the journal is another run's. */
function readJournal(path: string, digest: string): { photos: PhotoRecord[]; skipped: SkippedPhoto[] } | undefined {
  const lines = readFileSync(path, "utf-8").split("\n");
  const first = journalLineSchema.safeParse(JSON.parse(lines[0] || "{}"));
  if (!first.success || !("settings_sha256" in first.data) || first.data.settings_sha256 !== digest) return undefined;
  const photos: PhotoRecord[] = [];
  const skipped: SkippedPhoto[] = [];
  for (const line of lines.slice(1)) {
    if (!line) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      continue; // a line torn by the crash: that photo is done again
    }
    const r = journalLineSchema.safeParse(parsed);
    if (!r.success) continue;
    if ("photo" in r.data) photos.push(r.data.photo);
    else if ("skipped" in r.data) skipped.push(r.data.skipped);
  }
  return { photos, skipped };
}

/** Prepares `out`: continues a journal of the same run, or starts afresh where that is allowed. */
function openOut(out: string, digest: string, force: boolean) {
  const journal = join(out, PROTECT_JOURNAL);
  if (existsSync(journal)) {
    const done = readJournal(journal, digest);
    if (done) return { journal, ...done };
    if (!force)
      throw new Error(`${out}: holds another protection run (other settings or source); use --force to replace it`);
  } else if (existsSync(join(out, MANIFEST_FILE))) {
    if (!force) throw new Error(`${out}: already holds a finished protection; use --force to replace it`);
  } else if (existsSync(out) && readdirSync(out).length > 0 && !force) {
    throw new Error(`${out}: exists and is not empty; choose another --out`);
  }
  if (existsSync(out) && readdirSync(out).length > 0) removeOwned(out, "protected photo tree");
  mkdirSync(out, { recursive: true });
  writeMarker(out, "protected photo tree");
  appendFileSync(journal, `${JSON.stringify({ settings_sha256: digest })}\n`);
  return { journal, photos: [] as PhotoRecord[], skipped: [] as SkippedPhoto[] };
}

/** The models' prediction on RGB pixels through the evaluation resize. */
async function predict(models: readonly Module[], rgb: Uint8Array, w: number, h: number, side: number, device: string) {
  const pixels = await evalResize(rgb, w, h, side);
  return noGrad(() =>
    scope(() => {
      const x = tensor(pixels, [1, side, side, 3], { device }).permute(0, 3, 1, 2).float().div(255);
      return ensembleLogits(models, x).argmax(1).item();
    }),
  );
}

async function protectPhoto(photo: Photo, o: ProtectOptions, labels: "folders" | "predicted") {
  const t0 = performance.now();
  const device = o.device ?? "cpu";
  const bytes = new Uint8Array(readFileSync(photo.path));
  const src = await decodePhoto(bytes, photo.rel);
  const format = formatOfPath(photo.rel);
  const { width: w, height: h } = src;
  const cleanPred = await predict(o.models, src.rgb, w, h, o.inputSide, device);
  const label = labels === "folders" ? photo.label! : cleanPred;
  const target = o.method === "targeted" ? (label + 1) % o.numClasses : label;
  // A perturbation at the edge of the ball everywhere (what signed PGD makes) leaves no room for JPEG's own error,
  // and the encoder would have to take half of it back: JPEG photos are crafted inside a smaller ball.
  const eps = format === "jpeg" ? Math.max(1, o.eps - o.jpegMargin) : o.eps;
  manualSeed(photoSeed(o.seed, photo.rel));
  const crafted = scope(() => {
    const x = tensor(src.rgb, [1, h, w, 3], { device }).permute(0, 3, 1, 2).float().div(255);
    const delta = attackPhoto(o.models, x, label, target, {
      eps: eps / 255,
      stepSize: (o.stepSize * eps) / o.eps / 255,
      steps: o.steps,
      views: o.views,
      side: o.inputSide,
      objective: OBJECTIVES[o.method],
    });
    const released = noGrad(() => x.add(delta).clamp(0, 1).mul(255).round().permute(0, 2, 3, 1).contiguous());
    const values = released.to({ dtype: "uint8" }).toTypedArray() as Uint8Array;
    // Rounding may not leave the ball: clip to within eps grey levels of the source.
    const e = Math.floor(eps + 1e-9);
    return Uint8Array.from(values, (v, i) => Math.min(src.rgb[i]! + e, Math.max(src.rgb[i]! - e, v)));
  });
  const isFooled = (pred: number) => (o.method === "targeted" ? pred === target : pred !== label);
  const fooledBefore = isFooled(await predict(o.models, crafted, w, h, o.inputSide, device));
  const enc = await encodeWithinBudget(src.rgb, crafted, w, h, format, o.eps, {
    jpegQuality: o.jpegQuality,
    alpha: src.alpha,
    path: photo.rel,
  });
  const dest = join(o.out, photo.rel);
  mkdirSync(dirname(dest), { recursive: true });
  writeFileAtomic(dest, enc.bytes);
  const pred = await predict(o.models, enc.decoded, w, h, o.inputSide, device);
  const p = psnr(src.rgb, enc.decoded);
  const record: PhotoRecord = {
    path: photo.rel,
    width: w,
    height: h,
    format,
    source_sha256: sha256(bytes),
    sha256: sha256(enc.bytes),
    label,
    target,
    clean_pred: cleanPred,
    pred,
    fooled: isFooled(pred),
    fooled_before_encoding: fooledBefore,
    linf: linf(src.rgb, enc.decoded),
    psnr: Number.isFinite(p) ? Number(p.toFixed(3)) : null,
    ssim: Number(meanSsim(src.rgb, enc.decoded, w, h).toFixed(5)),
    kept: Number(enc.kept.toFixed(4)),
    ...(enc.quality !== undefined ? { jpeg_quality: enc.quality } : {}),
    seconds: Number(((performance.now() - t0) / 1000).toFixed(3)),
  };
  return record;
}

function summarise(photos: readonly PhotoRecord[], skipped: number, seconds: number): ProtectSummary {
  const n = Math.max(1, photos.length);
  const mean = (f: (r: PhotoRecord) => number) => photos.reduce((a, r) => a + f(r), 0) / n;
  const finitePsnr = photos.filter((r) => r.psnr !== null);
  return {
    count: photos.length,
    skipped,
    max_linf: photos.reduce((m, r) => Math.max(m, r.linf), 0),
    // Every written photo decodes at its source's size: encodeWithinBudget refuses to write any other.
    same_sizes: true,
    attack_success: mean((r) => (r.fooled ? 1 : 0)),
    attack_success_before_encoding: mean((r) => (r.fooled_before_encoding ? 1 : 0)),
    mean_psnr: finitePsnr.length ? finitePsnr.reduce((a, r) => a + r.psnr!, 0) / finitePsnr.length : null,
    mean_ssim: mean((r) => r.ssim),
    mean_kept: mean((r) => r.kept),
    seconds,
  };
}

/** Protects every photo under `o.source` into `o.out` (see the file comment). */
export async function protectTree(o: ProtectOptions): Promise<ProtectResult> {
  const t0 = performance.now();
  const progress = o.progress ?? silentProgress;
  const source = resolve(o.source);
  const out = resolve(o.out);
  if (out === source || out.startsWith(`${source}/`))
    throw new Error(`--out ${o.out} is inside the source ${o.source}: the protected copy must go elsewhere`);
  if (!(o.jpegMargin >= 0 && o.jpegMargin < o.eps))
    throw new Error(`--jpeg-margin must be at least 0 and below eps (${o.eps}), got ${o.jpegMargin}`);
  const tree = indexPhotoTree(source);
  const labels = labelsOf(tree, o);
  const settings: ProtectSettings = {
    method: o.method,
    eps: o.eps,
    steps: o.steps,
    step_size: o.stepSize,
    views: o.views,
    input_side: o.inputSide,
    labels,
    jpeg_quality: o.jpegQuality,
    jpeg_margin: o.jpegMargin,
    seed: o.seed,
    precision: o.precision,
    crafters: [...o.crafters],
    num_classes: o.numClasses,
  };
  const digest = settingsDigest(settings, source);
  const state = openOut(out, digest, o.force ?? false);
  const done = new Map(state.photos.map((r) => [r.path, r]));
  const skipped = new Map(state.skipped.map((s) => [s.path, s]));
  // A journalled photo counts only if its file is still there, unchanged.
  for (const [rel, r] of done) {
    const dest = join(out, rel);
    if (!existsSync(dest) || sha256(new Uint8Array(readFileSync(dest))) !== r.sha256) done.delete(rel);
  }
  const resumed = done.size + skipped.size;
  if (resumed > 0) progress.log(`resuming: ${resumed} of ${tree.photos.length} photos already done`);
  const task = progress.start("protecting", tree.photos.length, "photos");
  // Counted as photos finish: a collection may hold a million, so nothing per photo walks all the records.
  let fooled = [...done.values()].filter((r) => r.fooled).length;
  let k = 0;
  for (const photo of tree.photos) {
    k++;
    if (done.has(photo.rel) || skipped.has(photo.rel)) continue;
    try {
      const record = await protectPhoto(photo, { ...o, out }, labels);
      done.set(photo.rel, record);
      if (record.fooled) fooled++;
      appendFileSync(state.journal, `${JSON.stringify({ photo: record })}\n`);
    } catch (e) {
      const s = { path: photo.rel, error: (e as Error).message };
      skipped.set(photo.rel, s);
      appendFileSync(state.journal, `${JSON.stringify({ skipped: s })}\n`);
      progress.log(`skipped: ${s.error}`);
    }
    task.update(k, { fooled: `${((100 * fooled) / Math.max(1, done.size)).toFixed(1)}%` });
    await yieldToEventLoop();
  }
  const photos = tree.photos.flatMap((p) => (done.has(p.rel) ? [done.get(p.rel)!] : []));
  const skippedList = tree.photos.flatMap((p) => (skipped.has(p.rel) ? [skipped.get(p.rel)!] : []));
  const summary = summarise(photos, skippedList.length, (performance.now() - t0) / 1000);
  task.finish(
    `protected ${photos.length} photos (${skippedList.length} skipped): max L-inf ${summary.max_linf}, ` +
      `${(100 * summary.attack_success).toFixed(1)}% fool the crafter after encoding`,
  );
  const manifest: ProtectManifest = {
    tool: "advpoison",
    kind: PROTECT_KIND,
    version: VERSION,
    source,
    created: new Date().toISOString(),
    settings,
    settings_sha256: digest,
    class_names: [...tree.classNames],
    summary,
    photos,
    skipped: skippedList,
    ignored: [...tree.ignored],
  };
  writeFileAtomic(join(out, PROTECT_REPORT), await renderProtectReport(manifest, out));
  writeFileAtomic(join(out, MANIFEST_FILE), `${JSON.stringify(manifest, null, 1)}\n`);
  rmSync(state.journal, { force: true });
  return { manifest, resumed };
}
