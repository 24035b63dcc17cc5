// CIFAR VGG with batch norm, with the parameter names of kuangliu/pytorch-cifar (models/vgg.py): a `features`
// Sequential of Conv2d(3x3, padding 1)+BatchNorm2d+ReLU triples and MaxPool2d(2), a final pool, and a
// `classifier` Linear(512, classes). Names read features.0.weight, features.1.running_mean, classifier.weight.
import {
  AdaptiveAvgPool2d,
  BatchNorm2d,
  Conv2d,
  type ConvBnPair,
  type DeclaresConvBnPairs,
  Linear,
  MaxPool2d,
  Module,
  ReLU,
  Sequential,
  sequentialConvBnPairs,
} from "../nn/index.js";
import type { Tensor } from "../torch/index.js";
import type { ModelSpec } from "./spec.js";

/** Output channels of each conv layer, "M" for a 2x2 max-pool. */
export type VGGConfig = readonly (number | "M")[];

export const VGG11: VGGConfig = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"];
// biome-ignore format: one layer per entry would hide the stages
export const VGG16: VGGConfig = [
  64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M",
];

export class VGG extends Module implements DeclaresConvBnPairs {
  readonly features: Sequential;
  readonly classifier: Linear;

  constructor(config: VGGConfig, { inChannels, numClasses }: ModelSpec) {
    super();
    const layers: Module[] = [];
    let previous = inChannels;
    for (const c of config) {
      if (c === "M") {
        // ceilMode differs from the reference only on odd sides, which 32x32 never reaches: it lets 28x28 images
        // (28-14-7-4-2-1) through the fifth pool, where the reference's floor would leave nothing of 1x1.
        layers.push(new MaxPool2d(2, { stride: 2, ceilMode: true }));
      } else {
        layers.push(new Conv2d(previous, c, 3, { padding: 1 }), new BatchNorm2d(c), new ReLU());
        previous = c;
      }
    }
    // The reference ends with AvgPool2d(1), a no-op on the 1x1 map of 32x32 images; global average pooling is the
    // same there and also brings larger images down to the 512 features the classifier expects.
    layers.push(new AdaptiveAvgPool2d(1));
    this.features = this.child("features", new Sequential(...layers));
    this.classifier = this.child("classifier", new Linear(previous, numClasses));
  }

  convBnPairs(): ConvBnPair[] {
    return sequentialConvBnPairs(this.features, "features.");
  }

  forward(x: Tensor): Tensor {
    return this.classifier.forward(this.features.forward(x).flatten(1));
  }
}

export const vgg11 = (spec: ModelSpec): VGG => new VGG(VGG11, spec);
export const vgg16 = (spec: ModelSpec): VGG => new VGG(VGG16, spec);
