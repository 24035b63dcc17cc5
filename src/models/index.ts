export { ConvNet, type ConvNetOptions } from "./convnet.js";
export { DenseNet, densenet121 } from "./densenet.js";
export { type LoadedModel, loadModel, MODEL_SPEC_BOUNDS, type ModelInfo, saveModel } from "./file.js";
export { GoogLeNet } from "./googlenet.js";
export { IMAGENET_MEAN, IMAGENET_SPEC, IMAGENET_STD, ImageNetModel } from "./imagenet.js";
export { CraftingModel, type CraftingOptions, prepareForCrafting } from "./inference.js";
export { MobileNetV2 } from "./mobilenetv2.js";
export { MobileNetV2ImageNet, mobilenetV2ImageNet } from "./mobilenetv2-imagenet.js";
export {
  architectureOf,
  createModel,
  defaultSpec,
  isModelName,
  type ModelConfig,
  type ModelName,
  modelNames,
} from "./registry.js";
export { ResNet, resnet18, resnet34 } from "./resnet.js";
export { ResNetImageNet, resnet18ImageNet, resnet50ImageNet } from "./resnet-imagenet.js";
export { SmallCNN } from "./smallcnn.js";
export type { ModelSpec } from "./spec.js";
export { VGG, VGG11, VGG16, type VGGConfig, vgg11, vgg16 } from "./vgg.js";
export {
  type DownloadedWeights,
  defaultWeightsDir,
  downloadWeights,
  HF_ENDPOINT,
  isWeightsName,
  WEIGHT_ARCHITECTURES,
  WEIGHT_SOURCES,
  type WeightSource,
  type WeightsDownloadOptions,
  type WeightsName,
} from "./weights.js";
