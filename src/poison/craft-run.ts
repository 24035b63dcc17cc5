// What a crafting run takes and reports, shared by the chunk loop and the whole-set methods.
import type { Progress } from "../train/index.js";

export interface CraftRunOptions {
  /** Craft only share i of n of the chunks (chunked methods). */
  shard?: { index: number; count: number };
  progress?: Progress;
  /** Torch device of the crafting work; "cpu" by default. */
  device?: string;
}

export interface CraftRunStats {
  chunksDone: number;
  chunksSkipped: number;
  imagesCrafted: number;
  seconds: number;
}

export interface ChunkResult {
  /** Dataset indices of the chunk's images. */
  indices: Int32Array;
  /** Released uint8 pixels, N,H,W,C. */
  images: Uint8Array;
  /** Whether each image fooled the crafting model(s) the intended way. */
  success: Uint8Array;
  seconds: number;
}

/** Where crafted chunks go (a ChunkStore): what a method that writes its own chunks needs of it. */
export interface ChunkSink {
  readonly dir: string;
  /** The plan's digest, which checkpoints of the run carry. */
  readonly digest: string;
  has(k: number): boolean;
  save(k: number, r: ChunkResult, shape: readonly number[]): void;
}
