// CIFAR DenseNet with the parameter names of kuangliu/pytorch-cifar (models/densenet.py): a 3x3 stem conv1,
// dense1..4 (Sequentials of bottlenecks bn1/conv1/bn2/conv2) with transitions trans1..3 (bn/conv) between
// them, a final bn and linear. DenseNet-121 is growth 32 with [6, 12, 24, 16] bottlenecks.
import {
  BatchNorm2d,
  Conv2d,
  type ConvBnPair,
  type DeclaresConvBnPairs,
  Linear,
  Module,
  Sequential,
} from "../nn/index.js";
import { F, type Tensor } from "../torch/index.js";
import type { ModelSpec } from "./spec.js";

/** BN-ReLU-conv1x1 to 4*growth channels, BN-ReLU-conv3x3 to growth channels, prepended to its input. */
class Bottleneck extends Module implements DeclaresConvBnPairs {
  readonly bn1: BatchNorm2d;
  readonly conv1: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv2: Conv2d;

  constructor(inPlanes: number, growth: number) {
    super();
    this.bn1 = this.child("bn1", new BatchNorm2d(inPlanes));
    this.conv1 = this.child("conv1", new Conv2d(inPlanes, 4 * growth, 1, { bias: false }));
    this.bn2 = this.child("bn2", new BatchNorm2d(4 * growth));
    this.conv2 = this.child("conv2", new Conv2d(4 * growth, growth, 3, { padding: 1, bias: false }));
  }

  /** bn2 normalises conv1's output; bn1 (and the transitions' and the final bn) act on concatenations. */
  convBnPairs(): ConvBnPair[] {
    return [["conv1", "bn2"]];
  }

  forward(x: Tensor): Tensor {
    const narrowed = this.conv1.forward(F.relu(this.bn1.forward(x)));
    const grown = this.conv2.forward(F.relu(this.bn2.forward(narrowed)));
    return F.cat([grown, x], 1);
  }
}

/** BN-ReLU-conv1x1 to fewer channels, then 2x2 average pooling. */
class Transition extends Module {
  readonly bn: BatchNorm2d;
  readonly conv: Conv2d;

  constructor(inPlanes: number, outPlanes: number) {
    super();
    this.bn = this.child("bn", new BatchNorm2d(inPlanes));
    this.conv = this.child("conv", new Conv2d(inPlanes, outPlanes, 1, { bias: false }));
  }

  forward(x: Tensor): Tensor {
    return F.avgPool2d(this.conv.forward(F.relu(this.bn.forward(x))), 2);
  }
}

export class DenseNet extends Module {
  readonly conv1: Conv2d;
  /** dense1, trans1, dense2, trans2, dense3, trans3, dense4: registered interleaved, as the reference does. */
  readonly stages: Module[] = [];
  readonly bn: BatchNorm2d;
  readonly linear: Linear;

  constructor(
    blocks: readonly [number, number, number, number],
    growth: number,
    { inChannels, numClasses }: ModelSpec,
    reduction = 0.5,
  ) {
    super();
    let planes = 2 * growth;
    this.conv1 = this.child("conv1", new Conv2d(inChannels, planes, 3, { padding: 1, bias: false }));
    blocks.forEach((count, i) => {
      const dense = Array.from({ length: count }, (_, j) => new Bottleneck(planes + j * growth, growth));
      this.stages.push(this.child(`dense${i + 1}`, new Sequential(...dense)));
      planes += count * growth;
      if (i < blocks.length - 1) {
        const reduced = Math.floor(planes * reduction);
        this.stages.push(this.child(`trans${i + 1}`, new Transition(planes, reduced)));
        planes = reduced;
      }
    });
    this.bn = this.child("bn", new BatchNorm2d(planes));
    this.linear = this.child("linear", new Linear(planes, numClasses));
  }

  forward(x: Tensor): Tensor {
    let out = this.conv1.forward(x);
    for (const stage of this.stages) out = stage.forward(out);
    // Global average pooling: the reference's avg_pool2d(4) on the 4x4 map of 32x32 images, for any image size.
    return this.linear.forward(F.adaptiveAvgPool2d(F.relu(this.bn.forward(out)), 1).flatten(1));
  }
}

export const densenet121 = (spec: ModelSpec): DenseNet => new DenseNet([6, 12, 24, 16], 32, spec);
