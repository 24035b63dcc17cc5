// Model files: a safetensors state dict with PyTorch's names (loads in PyTorch as it is), plus metadata
// naming the architecture so advpoison can rebuild it. Files from PyTorch without that metadata load when
// the architecture and data shape are given.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Module } from "../nn/index.js";
import { decodeSafetensors, encodeSafetensors } from "../torch/index.js";
import { writeFileAtomic } from "../util/atomic.js";
import { createModel } from "./registry.js";
import type { ModelSpec } from "./spec.js";

export interface ModelInfo extends ModelSpec {
  model: string;
}

export function saveModel(path: string, model: Module, info: ModelInfo, extra: Record<string, string> = {}): void {
  const metadata = {
    ...extra,
    advpoison_model: info.model,
    in_channels: String(info.inChannels),
    num_classes: String(info.numClasses),
    image_size: String(info.imageSize),
  };
  writeFileAtomic(path, encodeSafetensors(model.stateDict(), metadata));
}

export interface LoadedModel {
  model: Module;
  info: ModelInfo;
  sha256: string;
  metadata: Record<string, string>;
}

/** Rebuilds and loads the model in `path`; `fallback` supplies what a file without our metadata lacks. */
export function loadModel(path: string, fallback: Partial<ModelInfo> = {}): LoadedModel {
  const bytes = new Uint8Array(readFileSync(path));
  const { tensors, metadata } = decodeSafetensors(bytes, path);
  try {
    const num = (key: string, fb: number | undefined, what: string): number => {
      const v = metadata[key] !== undefined ? Number(metadata[key]) : fb;
      if (v === undefined || !Number.isInteger(v))
        throw new Error(`${path}: no ${what} in the file's metadata; pass it explicitly`);
      return v;
    };
    const name = metadata.advpoison_model ?? fallback.model;
    if (!name) throw new Error(`${path}: the file does not name its architecture; pass --crafter-model NAME`);
    const info: ModelInfo = {
      model: name,
      inChannels: num("in_channels", fallback.inChannels, "input channel count"),
      numClasses: num("num_classes", fallback.numClasses, "class count"),
      imageSize: num("image_size", fallback.imageSize, "image size"),
    };
    const model = createModel(name, info);
    try {
      model.loadStateDict(tensors);
    } catch (e) {
      model.dispose();
      throw new Error(`${path}: does not fit model '${name}': ${(e as Error).message}`);
    }
    return { model, info, sha256: createHash("sha256").update(bytes).digest("hex"), metadata };
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}
