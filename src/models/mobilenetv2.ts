// CIFAR MobileNetV2 with the parameter names of kuangliu/pytorch-cifar (models/mobilenetv2.py): conv1 (stride 1
// instead of ImageNet's 2), bn1, `layers` of inverted-residual blocks, conv2, bn2, linear.
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

/** Expand (1x1) + depthwise (3x3) + project (1x1); a residual connection whenever the stride is 1. */
class Block extends Module implements DeclaresConvBnPairs {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm2d;
  readonly shortcut: Sequential;

  constructor(
    inPlanes: number,
    outPlanes: number,
    expansion: number,
    readonly stride: number,
  ) {
    super();
    const planes = expansion * inPlanes;
    this.conv1 = this.child("conv1", new Conv2d(inPlanes, planes, 1, { bias: false }));
    this.bn1 = this.child("bn1", new BatchNorm2d(planes));
    this.conv2 = this.child(
      "conv2",
      new Conv2d(planes, planes, 3, { stride, padding: 1, groups: planes, bias: false }),
    );
    this.bn2 = this.child("bn2", new BatchNorm2d(planes));
    this.conv3 = this.child("conv3", new Conv2d(planes, outPlanes, 1, { bias: false }));
    this.bn3 = this.child("bn3", new BatchNorm2d(outPlanes));
    const project = stride === 1 && inPlanes !== outPlanes;
    this.shortcut = this.child(
      "shortcut",
      project
        ? new Sequential(new Conv2d(inPlanes, outPlanes, 1, { bias: false }), new BatchNorm2d(outPlanes))
        : new Sequential(),
    );
  }

  convBnPairs(): ConvBnPair[] {
    return [["conv1", "bn1"], ["conv2", "bn2"], ["conv3", "bn3"], ...sequentialConvBnPairs(this.shortcut, "shortcut.")];
  }

  forward(x: Tensor): Tensor {
    const expanded = F.relu(this.bn1.forward(this.conv1.forward(x)));
    const filtered = F.relu(this.bn2.forward(this.conv2.forward(expanded)));
    const out = this.bn3.forward(this.conv3.forward(filtered));
    return this.stride === 1 ? out.add(this.shortcut.forward(x)) : out;
  }
}

/** (expansion, out_planes, num_blocks, stride) per stage; the second stage's stride is 1 for CIFAR, not 2. */
const STAGES: readonly (readonly [number, number, number, number])[] = [
  [1, 16, 1, 1],
  [6, 24, 2, 1],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

export class MobileNetV2 extends Module implements DeclaresConvBnPairs {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly layers: Sequential;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly linear: Linear;

  constructor({ inChannels, numClasses }: ModelSpec) {
    super();
    this.conv1 = this.child("conv1", new Conv2d(inChannels, 32, 3, { stride: 1, padding: 1, bias: false }));
    this.bn1 = this.child("bn1", new BatchNorm2d(32));
    const blocks: Block[] = [];
    let inPlanes = 32;
    for (const [expansion, outPlanes, count, stride] of STAGES) {
      for (let i = 0; i < count; i++) {
        blocks.push(new Block(inPlanes, outPlanes, expansion, i === 0 ? stride : 1));
        inPlanes = outPlanes;
      }
    }
    this.layers = this.child("layers", new Sequential(...blocks));
    this.conv2 = this.child("conv2", new Conv2d(inPlanes, 1280, 1, { bias: false }));
    this.bn2 = this.child("bn2", new BatchNorm2d(1280));
    this.linear = this.child("linear", new Linear(1280, numClasses));
  }

  convBnPairs(): ConvBnPair[] {
    return [
      ["conv1", "bn1"],
      ["conv2", "bn2"],
    ];
  }

  forward(x: Tensor): Tensor {
    const stem = F.relu(this.bn1.forward(this.conv1.forward(x)));
    const out = F.relu(this.bn2.forward(this.conv2.forward(this.layers.forward(stem))));
    // Global average pooling: the reference's avg_pool2d(4) on the 4x4 map of 32x32 images, for any image size.
    return this.linear.forward(F.adaptiveAvgPool2d(out, 1).flatten(1));
  }
}
