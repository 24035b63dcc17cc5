// Finished chunks on disk: a work directory holds plan.json and one safetensors file per chunk, each
// written atomically, so a killed run resumes without recomputing or losing a finished chunk.
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { decodeSafetensors, encodeSafetensors, tensor } from "../torch/index.js";
import { writeFileAtomic } from "../util/atomic.js";
import { type CraftPlan, planDigest } from "./plan.js";

export interface ChunkResult {
  /** Dataset indices of the chunk's images. */
  indices: Int32Array;
  /** Released uint8 pixels, N,H,W,C. */
  images: Uint8Array;
  /** Whether each image fooled the crafting model(s) the intended way. */
  success: Uint8Array;
  seconds: number;
}

const chunkFile = (dir: string, k: number) => join(dir, `chunk-${String(k).padStart(6, "0")}.safetensors`);

export class ChunkStore {
  readonly digest: string;

  private constructor(
    readonly dir: string,
    readonly plan: CraftPlan,
  ) {
    this.digest = planDigest(plan);
  }

  /** Opens (creating if needed) a work directory for `plan`; an existing one must hold the same plan. */
  static open(dir: string, plan: CraftPlan): ChunkStore {
    mkdirSync(dir, { recursive: true });
    const planPath = join(dir, "plan.json");
    if (existsSync(planPath)) {
      const existing = ChunkStore.read(dir);
      if (existing.digest !== planDigest(plan)) {
        throw new Error(
          `${dir} holds chunks of different crafting settings (plan ${existing.digest}, now ${planDigest(plan)}); ` +
            "use another --out or delete it",
        );
      }
    } else {
      writeFileAtomic(planPath, `${JSON.stringify(plan, null, 2)}\n`);
    }
    return new ChunkStore(dir, plan);
  }

  /** Opens an existing work directory with whatever plan it holds (for merging). */
  static read(dir: string): ChunkStore {
    const planPath = join(dir, "plan.json");
    if (!existsSync(planPath)) throw new Error(`${dir}: no plan.json; not a crafting work directory`);
    return new ChunkStore(dir, JSON.parse(readFileSync(planPath, "utf-8")) as CraftPlan);
  }

  has(k: number): boolean {
    return existsSync(chunkFile(this.dir, k));
  }

  /** Chunk numbers present on disk. */
  done(): number[] {
    return readdirSync(this.dir)
      .map((f) => /^chunk-(\d+)\.safetensors$/.exec(f)?.[1])
      .filter((m): m is string => m !== undefined)
      .map(Number)
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
      const meta = { plan: this.digest, chunk: String(k), seconds: r.seconds.toFixed(3) };
      writeFileAtomic(chunkFile(this.dir, k), encodeSafetensors(tensors, meta));
    } finally {
      for (const t of Object.values(tensors)) t.dispose();
    }
  }

  load(k: number): ChunkResult {
    const path = chunkFile(this.dir, k);
    const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(path)), path);
    try {
      if (metadata.plan !== this.digest)
        throw new Error(`${path}: made under plan ${metadata.plan}, not ${this.digest}`);
      const get = (name: string) => {
        const t = tensors.get(name);
        if (!t) throw new Error(`${path}: no '${name}' tensor`);
        return t.toTypedArray();
      };
      return {
        indices: get("indices") as Int32Array,
        images: get("images") as Uint8Array,
        success: get("success") as Uint8Array,
        seconds: Number(metadata.seconds),
      };
    } finally {
      for (const t of tensors.values()) t.dispose();
    }
  }
}
