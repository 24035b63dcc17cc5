// Finished chunks on disk: a work directory holds plan.json and one safetensors file per chunk, each
// written atomically, so a killed run resumes without recomputing or losing a finished chunk. A chunk is
// trusted only when it checks out (its checksum, the plan's indices, pixels within eps of the source): a
// damaged or truncated one is reported by file name and counts as not crafted, so it is crafted again.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { type Dataset, readImages } from "../data/index.js";
import { decodeSafetensors, encodeSafetensors, tensor } from "../torch/index.js";
import { writeFileAtomic } from "../util/atomic.js";
import { outputKind, PLAN_FILE, writeMarker } from "../util/ownership.js";

const WORK_DIR = "crafting work directory";

import { levelsOf, valueBound } from "./budget.js";
import type { ChunkResult, ChunkSink } from "./craft-run.js";
import { budgetOf, methodOf } from "./methods/index.js";
import { type CraftPlan, planDigest, planMethod, poisonedIndices } from "./plan.js";

export type { ChunkResult };

/** What a chunk on disk is checked against, beyond its checksum and the plan's indices. */
export interface ChunkCheck {
  /** The source training set: each released pixel must be within the plan's eps of it. */
  source?: Dataset;
  /** Told about each chunk that is on disk but unusable (and so crafted again). */
  warn?: (message: string) => void;
}

/**
 * The crafting model `craft --train-crafter` trains into the work directory before the directory has a plan
 * (the CLI's name for it; the only file besides hidden temporaries a new work directory may already hold).
 */
export const CRAFTER_FILE = "crafter.safetensors";

const chunkFile = (dir: string, k: number) => join(dir, `chunk-${String(k).padStart(6, "0")}.safetensors`);

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** sha256 over the chunk's tensors' bytes, in a fixed order: what a chunk's metadata must carry. */
function chunkChecksum(indices: Int32Array, images: Uint8Array, success: Uint8Array): string {
  return createHash("sha256").update(bytesOf(indices)).update(images).update(success).digest("hex");
}

export class ChunkStore implements ChunkSink {
  readonly digest: string;
  private poisoned: Int32Array | undefined;

  private constructor(
    readonly dir: string,
    readonly plan: CraftPlan,
  ) {
    this.digest = planDigest(plan);
  }

  /**
   * Opens (creating if needed) a work directory for `plan`; an existing one must hold the same plan, and a
   * non-empty directory without a plan is refused (it is someone's folder: a finished release deletes it).
   */
  static open(dir: string, plan: CraftPlan): ChunkStore {
    mkdirSync(dir, { recursive: true });
    const planPath = join(dir, PLAN_FILE);
    if (existsSync(planPath)) {
      const existing = ChunkStore.read(dir);
      if (existing.digest !== planDigest(plan)) {
        throw new Error(
          `${dir} holds chunks of different crafting settings (plan ${existing.digest}, now ${planDigest(plan)}); ` +
            "use another --out or delete it",
        );
      }
      // Work directories of earlier versions carry no marker: the same plan's digest says whose it is.
      if (outputKind(dir) === undefined) writeMarker(dir, WORK_DIR);
    } else {
      if (readdirSync(dir).some((f) => f !== CRAFTER_FILE && !f.startsWith("."))) {
        throw new Error(`${dir} is not empty and holds no ${PLAN_FILE}: not a crafting work directory; move it away`);
      }
      writeMarker(dir, WORK_DIR);
      writeFileAtomic(planPath, `${JSON.stringify(plan, null, 2)}\n`);
    }
    return new ChunkStore(dir, plan);
  }

  /** Opens an existing work directory with whatever plan it holds (for merging). */
  static read(dir: string): ChunkStore {
    const planPath = join(dir, PLAN_FILE);
    if (!existsSync(planPath)) throw new Error(`${dir}: no ${PLAN_FILE}; not a crafting work directory`);
    return new ChunkStore(dir, JSON.parse(readFileSync(planPath, "utf-8")) as CraftPlan);
  }

  /** Whether chunk k is on disk and checks out; a present but unusable one is reported to `check.warn`. */
  has(k: number, check: ChunkCheck = {}): boolean {
    if (check.source) this.checkSource(check.source);
    if (!existsSync(chunkFile(this.dir, k))) return false;
    try {
      this.load(k, check.source);
      return true;
    } catch (e) {
      check.warn?.(`${(e as Error).message}: not counted as crafted`);
      return false;
    }
  }

  /** Numbers of the chunks on disk that check out (see has()). */
  done(check: ChunkCheck = {}): number[] {
    return readdirSync(this.dir)
      .map((f) => /^chunk-(\d+)\.safetensors$/.exec(f)?.[1])
      .filter((m): m is string => m !== undefined)
      .map(Number)
      .filter((k) => this.has(k, check))
      .sort((a, b) => a - b);
  }

  save(k: number, r: ChunkResult, shape: readonly number[]): void {
    const n = r.indices.length;
    const tensors = {
      indices: tensor(r.indices, [n]),
      images: tensor(r.images, [n, ...shape]),
      success: tensor(r.success, [n]),
    };
    try {
      const meta = {
        plan: this.digest,
        chunk: String(k),
        seconds: r.seconds.toFixed(3),
        sha256: chunkChecksum(r.indices, r.images, r.success),
      };
      writeFileAtomic(chunkFile(this.dir, k), encodeSafetensors(tensors, meta));
    } finally {
      for (const t of Object.values(tensors)) t.dispose();
    }
  }

  /**
   * Chunk k, checked: made under this plan, its checksum right, its indices the plan's for chunk k, one
   * success flag (0/1) per image and, given the `source`, every pixel within the plan's eps. Any failure
   * throws an error that names the file.
   */
  load(k: number, source?: Dataset): ChunkResult {
    if (source) this.checkSource(source);
    const path = chunkFile(this.dir, k);
    const name = `${basename(this.dir)}/${basename(path)}`;
    let decoded: ReturnType<typeof decodeSafetensors>;
    try {
      decoded = decodeSafetensors(new Uint8Array(readFileSync(path)), path);
    } catch (e) {
      throw new Error(`${name}: unreadable chunk (${(e as Error).message})`);
    }
    const { tensors, metadata } = decoded;
    try {
      if (metadata.plan !== this.digest)
        throw new Error(`${name}: made under plan ${metadata.plan}, not ${this.digest}`);
      const get = (key: string) => {
        const t = tensors.get(key);
        if (!t) throw new Error(`${name}: no '${key}' tensor`);
        return t.toTypedArray();
      };
      const chunk: ChunkResult = {
        indices: get("indices") as Int32Array,
        images: get("images") as Uint8Array,
        success: get("success") as Uint8Array,
        seconds: Number(metadata.seconds),
      };
      const problem = this.problemOf(k, chunk, metadata.sha256, source);
      if (problem) throw new Error(`${name}: ${problem}`);
      return chunk;
    } finally {
      for (const t of tensors.values()) t.dispose();
    }
  }

  /** A caller's error, not a chunk's: the source must be the dataset the plan was made for. */
  private checkSource(source: Dataset): void {
    const [h, w, c] = this.plan.dataset.shape;
    if (source.count !== this.plan.dataset.count || source.height !== h || source.width !== w || source.channels !== c)
      throw new Error(
        `the source has ${source.count} images of ${source.height}x${source.width}x${source.channels}, ` +
          `but the plan was made for ${this.plan.dataset.count} of ${h}x${w}x${c}`,
      );
  }

  /** Why a decoded chunk k cannot be used, or undefined when it checks out. */
  private problemOf(k: number, c: ChunkResult, checksum: string | undefined, source?: Dataset): string | undefined {
    if (!(c.indices instanceof Int32Array && c.images instanceof Uint8Array && c.success instanceof Uint8Array))
      return "tensors of the wrong dtype";
    if (checksum === undefined) return "no checksum in its metadata";
    if (chunkChecksum(c.indices, c.images, c.success) !== checksum) return "checksum mismatch: its bytes changed";
    this.poisoned ??= poisonedIndices(this.plan.dataset.count, this.plan.budget, this.plan.seed);
    const expected = this.poisoned.subarray(k * this.plan.chunkSize, (k + 1) * this.plan.chunkSize);
    if (expected.length === 0) return `chunk ${k} is beyond the plan's ${this.poisoned.length} poisoned images`;
    if (c.indices.length !== expected.length || c.indices.some((i, b) => i !== expected[b]))
      return `its image indices are not the plan's for chunk ${k}`;
    const [h, w, ch] = this.plan.dataset.shape;
    const size = h * w * ch;
    if (c.images.length !== c.indices.length * size || c.success.length !== c.indices.length)
      return `holds ${c.images.length} pixel bytes and ${c.success.length} flags for ${c.indices.length} images of ${h}x${w}x${ch}`;
    if (c.success.some((f) => f > 1)) return "success flags other than 0 and 1";
    if (source) {
      // Per value: eps under L-inf; an L2 or L0 method's images are held to their own norm by verify.
      const norm = budgetOf(methodOf(planMethod(this.plan)), this.plan.extra);
      const levels = levelsOf(valueBound(norm, this.plan.eps));
      const bound = norm === "linf" ? `eps ${this.plan.eps}` : `the ${levels} any value may move`;
      const sources = readImages(source, c.indices);
      for (const [b, i] of c.indices.entries()) {
        const src = sources.subarray(b * size, (b + 1) * size);
        const img = c.images.subarray(b * size, (b + 1) * size);
        for (let p = 0; p < size; p++) {
          const d = Math.abs(img[p]! - src[p]!);
          if (d > levels) return `image ${i} is ${d} grey levels from its source, more than ${bound}`;
        }
      }
    }
    return undefined;
  }
}
