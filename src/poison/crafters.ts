// The crafting models a job names, loaded in one place: each file is read (its architecture from its metadata, or
// `model` for a plain state dict) and checked against the sha256 the job recorded where it has one (readCrafter,
// which the crafting pipeline's obtainCrafter uses too), then frozen on the device in the job's precision
// (prepareForCrafting). The loaded copy is released at once: only the frozen one is kept. The queue's workers and
// `protect` load their crafting models here.
import {
  type CraftingModel,
  type CraftingOptions,
  type LoadedModel,
  loadModel,
  type ModelInfo,
  prepareForCrafting,
} from "../models/index.js";

export interface CrafterFile {
  path: string;
  /** The architecture, for a file whose metadata does not say. */
  model?: string;
  /** The sha256 the job recorded for the file; a file with other bytes is refused. */
  sha256?: string;
}

export interface FrozenCrafter {
  model: CraftingModel;
  info: ModelInfo;
  sha256: string;
}

/** The crafting model of `f`, checked against its recorded sha256; `spec` fills in what its metadata leaves out. */
export function readCrafter(f: CrafterFile, spec: Partial<ModelInfo>): LoadedModel {
  const loaded = loadModel(f.path, { ...spec, ...(f.model !== undefined ? { model: f.model } : {}) });
  if (f.sha256 !== undefined && loaded.sha256 !== f.sha256) {
    loaded.model.dispose();
    throw new Error(`${f.path}: sha256 ${loaded.sha256}, the plan's crafting model is ${f.sha256}`);
  }
  return loaded;
}

/** The frozen crafting models of `files`, in order; `spec` fills in what a file's metadata leaves out. */
export function loadCrafters(
  files: readonly CrafterFile[],
  spec: Partial<ModelInfo>,
  options: CraftingOptions,
): FrozenCrafter[] {
  const frozen: FrozenCrafter[] = [];
  try {
    for (const f of files) {
      const loaded = readCrafter(f, spec);
      try {
        frozen.push({
          model: prepareForCrafting(loaded.model, options),
          info: loaded.info,
          sha256: loaded.sha256,
        });
      } finally {
        loaded.model.dispose();
      }
    }
    return frozen;
  } catch (e) {
    for (const c of frozen) c.model.dispose();
    throw e;
  }
}
