// The "ConvNet" of the poisoning benchmarks: ConvNetBN of the forest code (Geiping et al., "Witches' Brew",
// JonasGeiping/poisoning-gradient-matching; the same definition in the paper's lhfowl/adversarial_poisons
// village/clients/models.py), width 64 as there: eight conv3x3(+bias)-BN-ReLU layers of
// 64-128-128-256-256-256-256-256 channels, MaxPool2d(3) after the sixth and the eighth, then Linear(36*width).
// Everything sits in a Sequential named `model`, as in the reference, so names read model.conv0.weight,
// model.bn0.running_mean, ..., model.linear.weight.

import {
  AdaptiveAvgPool2d,
  BatchNorm2d,
  Conv2d,
  type ConvBnPair,
  type DeclaresConvBnPairs,
  Flatten,
  Linear,
  MaxPool2d,
  Module,
  NamedSequential,
  ReLU,
  sequentialConvBnPairs,
} from "../nn/index.js";
import type { Tensor } from "../torch/index.js";
import type { ModelSpec } from "./spec.js";

export interface ConvNetOptions {
  /** Channels of the first conv layer; the others have 2x and 4x as many (the reference's ConvNetBN uses 64). */
  width?: number;
}

export class ConvNet extends Module implements DeclaresConvBnPairs {
  readonly model: NamedSequential;

  constructor({ inChannels, numClasses, width = 64 }: ModelSpec & ConvNetOptions) {
    super();
    const channels = [width, 2 * width, 2 * width, 4 * width, 4 * width, 4 * width, 4 * width, 4 * width];
    const layers: [string, Module][] = [];
    let previous = inChannels;
    channels.forEach((c, i) => {
      layers.push([`conv${i}`, new Conv2d(previous, c, 3, { padding: 1 })]);
      layers.push([`bn${i}`, new BatchNorm2d(c)], [`relu${i}`, new ReLU()]);
      if (i === 5) layers.push(["pool0", new MaxPool2d(3)]);
      previous = c;
    });
    layers.push(
      ["pool1", new MaxPool2d(3)],
      // Not in the reference, which flattens straight away: its linear layer expects a 3x3 map, which is what
      // the two pools leave of 27..35-pixel images (28x28 and 32x32 included; there this pool changes nothing).
      // Larger images are averaged down to 3x3 instead of failing. It holds no state, so names are unaffected.
      ["fit", new AdaptiveAvgPool2d(3)],
      ["flatten", new Flatten()],
      ["linear", new Linear(4 * width * 9, numClasses)],
    );
    this.model = this.child("model", new NamedSequential(layers));
  }

  convBnPairs(): ConvBnPair[] {
    return sequentialConvBnPairs(this.model, "model.");
  }

  forward(x: Tensor): Tensor {
    return this.model.forward(x);
  }
}
