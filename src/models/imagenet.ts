// What the ImageNet models (torchvision's architectures and state-dict names) share: they take RGB pixels in
// [0, 1], as every advpoison model does, and apply torchvision's ImageNet normalisation, (x - mean) / std per
// channel, inside forward(). mean and std are constants, not buffers: torchvision's state dicts do not hold
// them, so its weights (and timm's `tv_in1k` copies) load unchanged.
import { Conv2d, Linear, Module } from "../nn/index.js";
import { keep, noGrad, type Tensor, tensor } from "../torch/index.js";
import type { ModelSpec } from "./spec.js";

/** torchvision's ImageNet preprocessing (transforms.Normalize), per RGB channel. */
export const IMAGENET_MEAN: readonly [number, number, number] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: readonly [number, number, number] = [0.229, 0.224, 0.225];

/** What the ImageNet models default to: RGB, ImageNet-1k's 1000 classes, 224x224 (any size goes through). */
export const IMAGENET_SPEC: ModelSpec = { inChannels: 3, numClasses: 1000, imageSize: 224 };

/** The ImageNet models' common part: the spec check and the normalisation of the input. */
export abstract class ImageNetModel extends Module {
  /** [mean, std] as float32 [1, 3, 1, 1] tensors, made on first use on each device the input lives on. */
  readonly #constants = new Map<string, readonly [Tensor, Tensor]>();

  constructor(architecture: string, spec: ModelSpec) {
    super();
    if (spec.inChannels !== 3) {
      throw new Error(
        `${architecture} takes RGB images (3 channels, normalised with ImageNet's mean and std), not ${spec.inChannels}`,
      );
    }
  }

  /** (x - mean) / std with torchvision's float32 constants, computed as torchvision's Normalize does. */
  protected normalize(x: Tensor): Tensor {
    let c = this.#constants.get(x.device);
    if (!c) {
      const device = { device: x.device };
      c = [keep(tensor(IMAGENET_MEAN, [1, 3, 1, 1], device)), keep(tensor(IMAGENET_STD, [1, 3, 1, 1], device))];
      this.#constants.set(x.device, c);
    }
    return x.sub(c[0]).div(c[1]);
  }

  override dispose(): void {
    for (const [mean, std] of this.#constants.values()) {
      mean.dispose();
      std.dispose();
    }
    this.#constants.clear();
    super.dispose();
  }
}

/**
 * torchvision's initialisation of its ImageNet models, in place: every conv kaiming_normal_(mode="fan_out",
 * nonlinearity="relu") with zero bias (batch norms start at 1 and 0 already); with `linearStd`, every linear
 * layer N(0, linearStd²) with zero bias (MobileNetV2), else PyTorch's default.
 */
export function torchvisionInit(model: Module, linearStd?: number): void {
  noGrad(() => {
    for (const [, m] of model.namedModules()) {
      if (m instanceof Conv2d) {
        const [outChannels = 1, , ...kernel] = m.weight.shape;
        const fanOut = outChannels * kernel.reduce((a, b) => a * b, 1);
        m.weight.normal_(0, Math.sqrt(2 / fanOut));
        m.bias?.zero_();
      } else if (m instanceof Linear && linearStd !== undefined) {
        m.weight.normal_(0, linearStd);
        m.bias?.zero_();
      }
    }
  });
}
