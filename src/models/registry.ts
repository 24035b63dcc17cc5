// Every model by the name the CLI and configs use, all built from the same spec.
import type { Module } from "../nn/index.js";
import { ConvNet, type ConvNetOptions } from "./convnet.js";
import { densenet121 } from "./densenet.js";
import { GoogLeNet } from "./googlenet.js";
import { IMAGENET_SPEC } from "./imagenet.js";
import { MobileNetV2 } from "./mobilenetv2.js";
import { mobilenetV2ImageNet } from "./mobilenetv2-imagenet.js";
import { resnet18, resnet34 } from "./resnet.js";
import { resnet18ImageNet, resnet50ImageNet } from "./resnet-imagenet.js";
import { SmallCNN } from "./smallcnn.js";
import type { ModelSpec } from "./spec.js";
import { vgg11, vgg16 } from "./vgg.js";

/** The data's shape and class count, plus the options some models take (the others ignore them). */
export type ModelConfig = ModelSpec & ConvNetOptions;

const FACTORIES = {
  smallcnn: (c: ModelConfig) => new SmallCNN({ ...c, batchNorm: false }),
  "smallcnn-bn": (c: ModelConfig) => new SmallCNN({ ...c, batchNorm: true }),
  convnet: (c: ModelConfig) => new ConvNet(c),
  resnet18,
  resnet34,
  vgg11,
  vgg16,
  mobilenetv2: (c: ModelConfig) => new MobileNetV2(c),
  densenet121,
  googlenet: (c: ModelConfig) => new GoogLeNet(c),
  // torchvision's ImageNet architectures under torchvision's names; RGB only, normalisation inside.
  "resnet18-imagenet": resnet18ImageNet,
  "resnet50-imagenet": resnet50ImageNet,
  "mobilenet_v2-imagenet": mobilenetV2ImageNet,
} satisfies Record<string, (c: ModelConfig) => Module>;

export type ModelName = keyof typeof FACTORIES;

export function modelNames(): ModelName[] {
  return Object.keys(FACTORIES) as ModelName[];
}

export function isModelName(name: string): name is ModelName {
  return Object.hasOwn(FACTORIES, name);
}

/**
 * What a model file without our metadata implies for an architecture (torchvision's ImageNet weights: RGB,
 * 1000 classes, 224-pixel images); loadModel uses it for the fields neither the file nor the caller gives.
 */
export function defaultSpec(name: ModelName): Partial<ModelSpec> {
  return name.endsWith("-imagenet") ? { ...IMAGENET_SPEC } : {};
}

/** What each model made here was made from, so that copies of it can be built (see architectureOf). */
const ORIGINS = new WeakMap<Module, { name: ModelName; config: ModelConfig }>();

/** A freshly initialised model; throws, listing the valid names, for an unknown one. */
export function createModel(name: string, config: ModelConfig): Module {
  if (!isModelName(name)) {
    throw new Error(`unknown model '${name}'; valid names: ${modelNames().join(", ")}`);
  }
  const model = FACTORIES[name](config);
  ORIGINS.set(model, { name, config: { ...config } });
  return model;
}

/** The registry name and config a model was created with, or undefined for one built otherwise. */
export function architectureOf(model: Module): { name: ModelName; config: ModelConfig } | undefined {
  return ORIGINS.get(model);
}
