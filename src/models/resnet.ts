// CIFAR ResNets (3x3 stem, no max-pool) with the parameter names of the usual PyTorch implementation
// (kuangliu/pytorch-cifar, used by the paper's evaluation code): conv1, bn1, layer1..4, linear.
import {
  BatchNorm2d,
  Conv2d,
  type ConvBnPair,
  type DeclaresConvBnPairs,
  Linear,
  Module,
  Sequential,
  sequentialConvBnPairs,
} from "../nn/index.js";
import { F, type Tensor } from "../torch/index.js";
import type { ModelSpec } from "./spec.js";

class BasicBlock extends Module implements DeclaresConvBnPairs {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly shortcut: Sequential;

  constructor(inPlanes: number, planes: number, stride: number) {
    super();
    this.conv1 = this.child("conv1", new Conv2d(inPlanes, planes, 3, { stride, padding: 1, bias: false }));
    this.bn1 = this.child("bn1", new BatchNorm2d(planes));
    this.conv2 = this.child("conv2", new Conv2d(planes, planes, 3, { stride: 1, padding: 1, bias: false }));
    this.bn2 = this.child("bn2", new BatchNorm2d(planes));
    const project = stride !== 1 || inPlanes !== planes;
    this.shortcut = this.child(
      "shortcut",
      project
        ? new Sequential(new Conv2d(inPlanes, planes, 1, { stride, bias: false }), new BatchNorm2d(planes))
        : new Sequential(),
    );
  }

  convBnPairs(): ConvBnPair[] {
    return [["conv1", "bn1"], ["conv2", "bn2"], ...sequentialConvBnPairs(this.shortcut, "shortcut.")];
  }

  forward(x: Tensor): Tensor {
    const out = this.bn2.forward(this.conv2.forward(F.relu(this.bn1.forward(this.conv1.forward(x)))));
    return F.relu(out.add(this.shortcut.forward(x)));
  }
}

export class ResNet extends Module implements DeclaresConvBnPairs {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly layers: Sequential[];
  readonly linear: Linear;

  constructor(blocks: readonly [number, number, number, number], { inChannels, numClasses }: ModelSpec) {
    super();
    this.conv1 = this.child("conv1", new Conv2d(inChannels, 64, 3, { stride: 1, padding: 1, bias: false }));
    this.bn1 = this.child("bn1", new BatchNorm2d(64));
    let inPlanes = 64;
    this.layers = [64, 128, 256, 512].map((planes, i) => {
      const strides = [i === 0 ? 1 : 2, ...Array<number>((blocks[i] ?? 1) - 1).fill(1)];
      const layer = new Sequential(
        ...strides.map((s) => {
          const b = new BasicBlock(inPlanes, planes, s);
          inPlanes = planes;
          return b;
        }),
      );
      return this.child(`layer${i + 1}`, layer);
    });
    this.linear = this.child("linear", new Linear(512, numClasses));
  }

  convBnPairs(): ConvBnPair[] {
    return [["conv1", "bn1"]];
  }

  forward(x: Tensor): Tensor {
    let out = F.relu(this.bn1.forward(this.conv1.forward(x)));
    for (const layer of this.layers) out = layer.forward(out);
    // Global average pooling (the reference uses avg_pool2d(4) on 32x32; adaptive pooling is the same there
    // and also accepts other image sizes).
    return this.linear.forward(F.adaptiveAvgPool2d(out, 1).flatten(1));
  }
}

export const resnet18 = (spec: ModelSpec): ResNet => new ResNet([2, 2, 2, 2], spec);
export const resnet34 = (spec: ModelSpec): ResNet => new ResNet([3, 4, 6, 3], spec);
