export { ConvNet, type ConvNetOptions } from "./convnet.js";
export { DenseNet, densenet121 } from "./densenet.js";
export { GoogLeNet } from "./googlenet.js";
export { MobileNetV2 } from "./mobilenetv2.js";
export { createModel, isModelName, type ModelConfig, type ModelName, modelNames } from "./registry.js";
export { ResNet, resnet18, resnet34 } from "./resnet.js";
export { SmallCNN } from "./smallcnn.js";
export type { ModelSpec } from "./spec.js";
export { VGG, VGG11, VGG16, type VGGConfig, vgg11, vgg16 } from "./vgg.js";
