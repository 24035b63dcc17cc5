// `protect`: a photo tree in, the same tree out, each photo at its own size and format, carrying a perturbation
// within eps that makes the crafting models learn-proof in the paper's sense (targeted: pushed to pi(label),
// untargeted: away from it). One photo at a time, so memory does not grow with the collection (one photo's need
// is told from its header first: see memory.ts); every finished photo is written atomically and journalled, so a
// killed run continues where it stopped (journal.ts); a photo that cannot be done is skipped with its reason,
// and the run fails only when nothing was protected; the manifest and the HTML report come at the end.
import { rmSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Module } from "../nn/index.js";
import { clipToBall, pixelUnits } from "../poison/budget.js";
import { ADVERSARIAL_METHODS } from "../poison/methods/index.js";
import { writeReport } from "../report/index.js";
import { manualSeed, noGrad, scope, tensor } from "../torch/index.js";
import { type Progress, silentProgress } from "../train/progress.js";
import { writeFileAtomic } from "../util/atomic.js";
import { yieldToEventLoop } from "../util/event-loop.js";
import { MANIFEST_FILE } from "../util/ownership.js";
import { isInside, readFileNoFollow, realDirBelow, realPath } from "../util/paths.js";
import { VERSION } from "../util/version.js";
import { attackPhoto, ensembleLogits } from "./attack.js";
import { decodePhoto, evalResize, formatOfPath, probePhoto } from "./codec.js";
import { encodeWithinBudget } from "./encode.js";
import { openOut } from "./journal.js";
import {
  type PhotoRecord,
  PROTECT_KIND,
  type ProtectManifest,
  type ProtectSettings,
  type ProtectSummary,
  type SkippedPhoto,
  settingsDigest,
  sha256,
} from "./manifest.js";
import { availableMemory, memoryProblem } from "./memory.js";
import { linf, meanSsim, psnr } from "./quality.js";
import { protectReport } from "./report.js";
import { indexPhotoTree, type Photo, type PhotoTree } from "./tree.js";

export interface ProtectOptions {
  source: string;
  out: string;
  /** Frozen crafting models (see prepareForCrafting), and what the manifest says of them. */
  models: readonly Module[];
  crafters: ProtectSettings["crafters"];
  numClasses: number;
  method: keyof typeof ADVERSARIAL_METHODS;
  /** Grey levels. */
  eps: number;
  steps: number;
  /** PGD step as a fraction of eps (the photo's own eps: smaller for JPEG, see jpegMargin). */
  tau: number;
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

/**
 * The protected copy of one photo (`bytes`, its source file) and its record; throws, naming the photo, when it
 * cannot be done: undecodable, above the pixel limit, more than the memory available, or a JPEG the budget
 * cannot hold. Writes nothing.
 */
async function protectPhoto(photo: Photo, bytes: Uint8Array, o: ProtectOptions, labels: "folders" | "predicted") {
  const t0 = performance.now();
  const device = o.device ?? "cpu";
  const header = await probePhoto(bytes, photo.rel);
  const tooBig = memoryProblem(header.pixels, availableMemory());
  if (tooBig) throw new Error(`${photo.rel}: ${tooBig}`);
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
    // In place where the values are the same either way: at 48 MP each float copy of the photo is 0.6 GB.
    const x = tensor(src.rgb, [1, h, w, 3], { device }).permute(0, 3, 1, 2).float().div_(255);
    const delta = attackPhoto(o.models, x, label, target, {
      ...pixelUnits({ eps, stepSize: o.tau * eps }),
      steps: o.steps,
      views: o.views,
      side: o.inputSide,
      objective: ADVERSARIAL_METHODS[o.method].objective,
    });
    const released = noGrad(() => x.add(delta).clamp_(0, 1).mul_(255).round().permute(0, 2, 3, 1).contiguous());
    return clipToBall(src.rgb, released.to({ dtype: "uint8" }).toTypedArray() as Uint8Array, eps);
  });
  const isFooled = (pred: number) => (o.method === "targeted" ? pred === target : pred !== label);
  const fooledBefore = isFooled(await predict(o.models, crafted, w, h, o.inputSide, device));
  const enc = await encodeWithinBudget(src.rgb, crafted, w, h, format, o.eps, {
    jpegQuality: o.jpegQuality,
    alpha: src.alpha,
    path: photo.rel,
  });
  const d = linf(src.rgb, enc.decoded);
  // verify holds a copy that decodes to its source as unprotected: never write one.
  if (d === 0)
    throw new Error(`${photo.rel}: the perturbation rounds away (eps ${o.eps} is under one grey level here)`);
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
    linf: d,
    psnr: Number.isFinite(p) ? Number(p.toFixed(3)) : null,
    ssim: Number(meanSsim(src.rgb, enc.decoded, w, h).toFixed(5)),
    kept: Number(enc.kept.toFixed(4)),
    ...(enc.quality !== undefined ? { jpeg_quality: enc.quality } : {}),
    seconds: Number(((performance.now() - t0) / 1000).toFixed(3)),
  };
  return { record, bytes: enc.bytes };
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

/** How many runs may end while protecting the same photo (killed, out of memory) before it is skipped instead. */
const MAX_ATTEMPTS = 2;

/** Writes a protected photo at `rel` under `out` through real directories only (see realDirBelow), atomically. */
function writePhoto(out: string, rel: string, bytes: Uint8Array): void {
  const slash = rel.lastIndexOf("/");
  writeFileAtomic(join(realDirBelow(out, rel.slice(0, Math.max(0, slash))), rel.slice(slash + 1)), bytes);
}

/** sha256 of a regular file's bytes, or undefined when it is gone or no longer a regular file. */
function fileSha256(path: string): string | undefined {
  try {
    return sha256(readFileNoFollow(path));
  } catch {
    return undefined;
  }
}

/** Protects every photo under `o.source` into `o.out` (see the file comment). */
export async function protectTree(o: ProtectOptions): Promise<ProtectResult> {
  const t0 = performance.now();
  const progress = o.progress ?? silentProgress;
  const source = resolve(o.source);
  // Real paths: through a link an output inside the source looks outside it (and a rerun would protect the copies).
  const [realSource, out] = [realPath(source), realPath(o.out)];
  if (isInside(out, realSource))
    throw new Error(`--out ${o.out} is inside the source ${o.source}: the protected copy must go elsewhere`);
  if (isInside(realSource, out))
    throw new Error(`--out ${o.out} holds the source ${o.source}: the protected copy must go elsewhere`);
  if (!(o.jpegMargin >= 0 && o.jpegMargin < o.eps))
    throw new Error(`--jpeg-margin must be at least 0 and below eps (${o.eps}), got ${o.jpegMargin}`);
  const tree = indexPhotoTree(source);
  const labels = labelsOf(tree, o);
  const settings: ProtectSettings = {
    method: o.method,
    eps: o.eps,
    steps: o.steps,
    // Grey levels per step at the full eps (what a JPEG photo takes is tau * (eps - margin)).
    step_size: o.tau * o.eps,
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
  const { journal, state } = openOut(out, digest, o.force ?? false);
  try {
    const paths = new Map(tree.photos.map((p) => [p.rel, p.path]));
    const sourceSha256 = (rel: string) => (paths.has(rel) ? fileSha256(paths.get(rel)!) : undefined);
    // A journalled photo counts only while its source is the one protected and its copy is still there, unchanged;
    // a skip holds only for the bytes it was about (a fixed or re-exported photo is tried again).
    const done = new Map<string, PhotoRecord>();
    for (const r of state.photos) {
      if (sourceSha256(r.path) === r.source_sha256 && fileSha256(join(out, r.path)) === r.sha256) done.set(r.path, r);
      else done.delete(r.path);
    }
    const skipped = new Map<string, SkippedPhoto>();
    for (const s of state.skipped) {
      if (s.source_sha256 !== undefined && sourceSha256(s.path) === s.source_sha256) skipped.set(s.path, s);
      else skipped.delete(s.path);
    }
    const resumed = done.size + skipped.size;
    if (resumed > 0) progress.log(`resuming: ${resumed} of ${tree.photos.length} photos already done`);
    const links = tree.links.map((rel) => ({ path: rel, error: `${rel}: a symbolic link, not followed` }));
    for (const l of links) progress.log(`skipped: ${l.error}`);
    const skip = (s: SkippedPhoto) => {
      skipped.set(s.path, s);
      journal.append({ skipped: s });
      progress.log(`skipped: ${s.error}`);
    };
    const task = progress.start("protecting", tree.photos.length, "photos");
    // Counted as photos finish: a collection may hold a million, so nothing per photo walks all the records.
    let fooled = [...done.values()].filter((r) => r.fooled).length;
    /** Protects and writes `photo`, or skips it with its reason (journalled either way). */
    const protectOne = async (photo: Photo) => {
      let bytes: Uint8Array;
      try {
        bytes = readFileNoFollow(photo.path);
      } catch (e) {
        skip({ path: photo.rel, error: `${photo.rel}: cannot read it (${(e as NodeJS.ErrnoException).code ?? e})` });
        return;
      }
      const hash = sha256(bytes);
      const ended = (state.unfinished.get(photo.rel) ?? []).filter((a) => a.source_sha256 === hash).length;
      if (ended >= MAX_ATTEMPTS) {
        const error = `${photo.rel}: ${ended} runs ended while protecting it (killed, or out of memory); not tried again`;
        skip({ path: photo.rel, error, source_sha256: hash });
        return;
      }
      journal.append({ attempt: { path: photo.rel, source_sha256: hash } });
      let result: Awaited<ReturnType<typeof protectPhoto>>;
      try {
        result = await protectPhoto(photo, bytes, o, labels);
      } catch (e) {
        skip({ path: photo.rel, error: (e as Error).message, source_sha256: hash });
        return;
      }
      // Not a property of the photo: a failed write (a link in the way, a full disk) ends the run.
      writePhoto(out, photo.rel, result.bytes);
      done.set(photo.rel, result.record);
      if (result.record.fooled) fooled++;
      journal.append({ photo: result.record });
    };
    for (const [k, photo] of tree.photos.entries()) {
      if (done.has(photo.rel) || skipped.has(photo.rel)) continue;
      await protectOne(photo);
      task.update(k + 1, { fooled: `${((100 * fooled) / Math.max(1, done.size)).toFixed(1)}%` });
      await yieldToEventLoop();
    }
    const photos = tree.photos.flatMap((p) => (done.has(p.rel) ? [done.get(p.rel)!] : []));
    const skippedList = [...tree.photos.flatMap((p) => (skipped.has(p.rel) ? [skipped.get(p.rel)!] : [])), ...links];
    if (photos.length === 0)
      throw new Error(
        `nothing was protected: all ${skippedList.length} photos under ${o.source} were skipped (see above); ` +
          "fix them and run again",
      );
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
    writeReport(out, await protectReport(manifest, out));
    writeFileAtomic(join(out, MANIFEST_FILE), `${JSON.stringify(manifest, null, 1)}\n`);
    rmSync(journal.path, { force: true });
    return { manifest, resumed };
  } finally {
    journal.close();
  }
}
