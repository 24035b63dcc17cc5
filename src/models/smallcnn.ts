// A small CNN for 28x28 (or any size) images: conv32-pool-conv64-pool-fc128-fc(classes), BN optional.
// Intermediate tensors are left to the caller's scope, as everywhere in src/models.
import {
  BatchNorm2d,
  Conv2d,
  type ConvBnPair,
  type DeclaresConvBnPairs,
  Identity,
  Linear,
  type Module as M,
  MaxPool2d,
  Module,
} from "../nn/index.js";
import { F, type Tensor } from "../torch/index.js";
import type { ModelSpec } from "./spec.js";

export class SmallCNN extends Module implements DeclaresConvBnPairs {
  readonly conv1: Conv2d;
  readonly bn1: M;
  readonly conv2: Conv2d;
  readonly bn2: M;
  readonly fc1: Linear;
  readonly fc2: Linear;
  readonly pool = new MaxPool2d(2);

  constructor({ inChannels, numClasses, imageSize, batchNorm = false }: ModelSpec & { batchNorm?: boolean }) {
    super();
    this.conv1 = this.child("conv1", new Conv2d(inChannels, 32, 3, { padding: 1, bias: !batchNorm }));
    this.bn1 = batchNorm ? this.child("bn1", new BatchNorm2d(32)) : new Identity();
    this.conv2 = this.child("conv2", new Conv2d(32, 64, 3, { padding: 1, bias: !batchNorm }));
    this.bn2 = batchNorm ? this.child("bn2", new BatchNorm2d(64)) : new Identity();
    const side = Math.floor(imageSize / 4);
    this.fc1 = this.child("fc1", new Linear(64 * side * side, 128));
    this.fc2 = this.child("fc2", new Linear(128, numClasses));
  }

  convBnPairs(): ConvBnPair[] {
    return this.bn1 instanceof BatchNorm2d
      ? [
          ["conv1", "bn1"],
          ["conv2", "bn2"],
        ]
      : [];
  }

  forward(x: Tensor): Tensor {
    const h1 = this.pool.forward(F.relu(this.bn1.forward(this.conv1.forward(x))));
    const h2 = this.pool.forward(F.relu(this.bn2.forward(this.conv2.forward(h1))));
    return this.fc2.forward(F.relu(this.fc1.forward(h2.flatten(1))));
  }
}
