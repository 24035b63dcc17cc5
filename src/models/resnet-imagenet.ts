// torchvision's ImageNet ResNets (torchvision.models.resnet, v1.5: a Bottleneck strides in its 3x3 conv2) with
// torchvision's state-dict names: conv1 (7x7/2), bn1, max-pool 3x3/2, layer1..layer4 of BasicBlock/Bottleneck
// (conv1, bn1, conv2, bn2[, conv3, bn3], and downsample.0 (1x1 conv) / downsample.1 (BN) where the shape
// changes), adaptive average pooling, fc. Inputs are [0, 1] pixels, normalised inside (see imagenet.ts); any
// input size goes through (the pooling is adaptive), non-square too.
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
import { IMAGENET_SPEC, ImageNetModel, torchvisionInit } from "./imagenet.js";
import type { ModelSpec } from "./spec.js";

/** torchvision's downsample: a strided 1x1 conv and a batch norm, named "0" and "1". */
function downsample(inPlanes: number, outPlanes: number, stride: number): Sequential {
  return new Sequential(new Conv2d(inPlanes, outPlanes, 1, { stride, bias: false }), new BatchNorm2d(outPlanes));
}

const DOWNSAMPLE_PAIRS: ConvBnPair[] = [["downsample.0", "downsample.1"]];

class BasicBlock extends Module implements DeclaresConvBnPairs {
  static readonly expansion = 1;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly downsample: Sequential | undefined;

  constructor(inPlanes: number, planes: number, stride: number) {
    super();
    this.conv1 = this.child("conv1", new Conv2d(inPlanes, planes, 3, { stride, padding: 1, bias: false }));
    this.bn1 = this.child("bn1", new BatchNorm2d(planes));
    this.conv2 = this.child("conv2", new Conv2d(planes, planes, 3, { padding: 1, bias: false }));
    this.bn2 = this.child("bn2", new BatchNorm2d(planes));
    this.downsample =
      stride !== 1 || inPlanes !== planes ? this.child("downsample", downsample(inPlanes, planes, stride)) : undefined;
  }

  convBnPairs(): ConvBnPair[] {
    return [["conv1", "bn1"], ["conv2", "bn2"], ...(this.downsample ? DOWNSAMPLE_PAIRS : [])];
  }

  forward(x: Tensor): Tensor {
    const out = this.bn2.forward(this.conv2.forward(F.relu(this.bn1.forward(this.conv1.forward(x)))));
    return F.relu(out.add(this.downsample ? this.downsample.forward(x) : x));
  }
}

class Bottleneck extends Module implements DeclaresConvBnPairs {
  static readonly expansion = 4;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm2d;
  readonly downsample: Sequential | undefined;

  constructor(inPlanes: number, planes: number, stride: number) {
    super();
    const out = planes * Bottleneck.expansion;
    this.conv1 = this.child("conv1", new Conv2d(inPlanes, planes, 1, { bias: false }));
    this.bn1 = this.child("bn1", new BatchNorm2d(planes));
    // v1.5: the stride is on the 3x3 conv, not on the first 1x1 (as in the original paper's v1).
    this.conv2 = this.child("conv2", new Conv2d(planes, planes, 3, { stride, padding: 1, bias: false }));
    this.bn2 = this.child("bn2", new BatchNorm2d(planes));
    this.conv3 = this.child("conv3", new Conv2d(planes, out, 1, { bias: false }));
    this.bn3 = this.child("bn3", new BatchNorm2d(out));
    this.downsample =
      stride !== 1 || inPlanes !== out ? this.child("downsample", downsample(inPlanes, out, stride)) : undefined;
  }

  convBnPairs(): ConvBnPair[] {
    return [["conv1", "bn1"], ["conv2", "bn2"], ["conv3", "bn3"], ...(this.downsample ? DOWNSAMPLE_PAIRS : [])];
  }

  forward(x: Tensor): Tensor {
    const a = F.relu(this.bn1.forward(this.conv1.forward(x)));
    const b = F.relu(this.bn2.forward(this.conv2.forward(a)));
    const out = this.bn3.forward(this.conv3.forward(b));
    return F.relu(out.add(this.downsample ? this.downsample.forward(x) : x));
  }
}

type Block = typeof BasicBlock | typeof Bottleneck;

export class ResNetImageNet extends ImageNetModel implements DeclaresConvBnPairs {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly layers: Sequential[];
  readonly fc: Linear;

  constructor(architecture: string, block: Block, blocks: readonly [number, number, number, number], spec: ModelSpec) {
    super(architecture, spec);
    this.conv1 = this.child("conv1", new Conv2d(spec.inChannels, 64, 7, { stride: 2, padding: 3, bias: false }));
    this.bn1 = this.child("bn1", new BatchNorm2d(64));
    let inPlanes = 64;
    this.layers = [64, 128, 256, 512].map((planes, i) => {
      const count = blocks[i] ?? 1;
      const layer = new Sequential(
        ...Array.from({ length: count }, (_, j) => {
          const b = new block(inPlanes, planes, j === 0 && i > 0 ? 2 : 1);
          inPlanes = planes * block.expansion;
          return b;
        }),
      );
      return this.child(`layer${i + 1}`, layer);
    });
    this.fc = this.child("fc", new Linear(512 * block.expansion, spec.numClasses));
    torchvisionInit(this);
  }

  convBnPairs(): ConvBnPair[] {
    return [["conv1", "bn1"]];
  }

  forward(x: Tensor): Tensor {
    const stem = F.relu(this.bn1.forward(this.conv1.forward(this.normalize(x))));
    let out = F.maxPool2d(stem, 3, { stride: 2, padding: 1 });
    for (const layer of this.layers) out = layer.forward(out);
    return this.fc.forward(F.adaptiveAvgPool2d(out, 1).flatten(1));
  }
}

/** torchvision.models.resnet18; the spec defaults to IMAGENET_SPEC (RGB, 1000 classes). */
export const resnet18ImageNet = (spec: Partial<ModelSpec> = {}): ResNetImageNet =>
  new ResNetImageNet("resnet18-imagenet", BasicBlock, [2, 2, 2, 2], { ...IMAGENET_SPEC, ...spec });
/** torchvision.models.resnet50; the spec defaults to IMAGENET_SPEC (RGB, 1000 classes). */
export const resnet50ImageNet = (spec: Partial<ModelSpec> = {}): ResNetImageNet =>
  new ResNetImageNet("resnet50-imagenet", Bottleneck, [3, 4, 6, 3], { ...IMAGENET_SPEC, ...spec });
