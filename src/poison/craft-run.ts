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
