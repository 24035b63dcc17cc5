// Model files: a safetensors state dict with PyTorch's names (loads in PyTorch as it is), plus metadata
// naming the architecture so advpoison can rebuild it. Files from PyTorch without that metadata load when
// the architecture and data shape are given (for the ImageNet architectures the shape defaults to ImageNet's:
// a torchvision or timm `tv_in1k` state dict loads with only the architecture named).
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import type { Module } from "../nn/index.js";
import { decodeSafetensors, encodeSafetensors } from "../torch/index.js";
import { writeFileAtomic } from "../util/atomic.js";
import { createModel, defaultSpec, isModelName, modelNames } from "./registry.js";
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

/**
 * Sane bounds of the spec fields, so that a damaged or hostile file cannot ask the allocator for a 10^9-way
 * classifier: classes as many as a .npy dataset may imply, channels well beyond RGB, sides beyond ImageNet's.
 */
export const MODEL_SPEC_BOUNDS: Record<keyof ModelSpec, { key: string; max: number }> = {
  inChannels: { key: "in_channels", max: 64 },
  numClasses: { key: "num_classes", max: 100_000 },
  imageSize: { key: "image_size", max: 4096 },
};

/**
 * Rebuilds and loads the model in `path`. `fallback` supplies what a file without our metadata lacks; its
 * `model`, the architecture the caller was told to use (e.g. --crafter-model), must agree with the one a file
 * names. Every metadata field is checked (a known architecture; positive integers within MODEL_SPEC_BOUNDS)
 * and an error names the field.
 */
export function loadModel(path: string, fallback: Partial<ModelInfo> = {}): LoadedModel {
  const bytes = readModelFile(path);
  const { tensors, metadata } = decodeSafetensors(bytes, path);
  try {
    const info = modelInfo(path, metadata, fallback);
    const model = createModel(info.model, info);
    try {
      model.loadStateDict(tensors);
    } catch (e) {
      model.dispose();
      throw new Error(`${path}: does not fit model '${info.model}': ${(e as Error).message}`);
    }
    return { model, info, sha256: createHash("sha256").update(bytes).digest("hex"), metadata };
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}

function readModelFile(path: string): Uint8Array {
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory())
    throw new Error(`${path}: is a directory, not a model file (.safetensors)`);
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new Error(
      `${path}: cannot read the model file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
}

function modelInfo(path: string, metadata: Record<string, string>, fallback: Partial<ModelInfo>): ModelInfo {
  const named = metadata.advpoison_model;
  if (named !== undefined && !isModelName(named)) {
    throw new Error(`${path}: metadata advpoison_model '${named}' is not a known model (${modelNames().join(", ")})`);
  }
  if (named !== undefined && fallback.model !== undefined && fallback.model !== named) {
    throw new Error(
      `${path}: the file holds a '${named}' model, but '${fallback.model}' was asked for (--crafter-model/--model)`,
    );
  }
  const model = named ?? fallback.model;
  if (!model) throw new Error(`${path}: the file does not name its architecture; pass --crafter-model NAME`);
  if (!isModelName(model))
    throw new Error(`${path}: unknown model '${model}'; valid names: ${modelNames().join(", ")}`);
  // A torchvision file names no shape: its architecture's defaults (3 channels, 1000 classes) apply.
  const implied = defaultSpec(model);
  const field = (name: keyof ModelSpec): number => {
    const { key, max } = MODEL_SPEC_BOUNDS[name];
    const text = metadata[key];
    if (text === undefined) {
      const v = fallback[name] ?? implied[name];
      if (v === undefined) throw new Error(`${path}: no ${key} in the file's metadata; pass it explicitly`);
      return v;
    }
    const v = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(v) || v < 1 || v > max) {
      throw new Error(`${path}: metadata ${key} '${text}' is not an integer from 1 to ${max}`);
    }
    return v;
  };
  return { model, inChannels: field("inChannels"), numClasses: field("numClasses"), imageSize: field("imageSize") };
}
