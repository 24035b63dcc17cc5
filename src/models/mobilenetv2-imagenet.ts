// torchvision's ImageNet MobileNetV2 (torchvision.models.mobilenet_v2, width 1.0) with torchvision's state-dict
// names: `features` (features.0: conv 3x3/2 + BN + ReLU6 as Conv2dNormActivation "0"/"1"; features.1..17:
// InvertedResidual blocks whose `conv` Sequential holds [expand 1x1 ConvBNReLU6,] depthwise 3x3 ConvBNReLU6,
// project 1x1 conv and BN; features.18: 1x1 ConvBNReLU6 to 1280 channels), adaptive average pooling and
// `classifier` (Dropout(0.2) "0", Linear "1"). Inputs are [0, 1] pixels, normalised inside (see imagenet.ts).
import {
  BatchNorm2d,
  Conv2d,
  type ConvBnPair,
  type DeclaresConvBnPairs,
  Dropout,
  Linear,
  Module,
  ReLU6,
  Sequential,
  sequentialConvBnPairs,
} from "../nn/index.js";
import { F, type Tensor } from "../torch/index.js";
import { IMAGENET_SPEC, ImageNetModel, torchvisionInit } from "./imagenet.js";
import type { ModelSpec } from "./spec.js";

/** torchvision's Conv2dNormActivation with ReLU6: conv (padding (k-1)/2, no bias), BN, ReLU6 as "0", "1", "2". */
function convBnRelu6(inPlanes: number, outPlanes: number, kernel: 1 | 3, stride = 1, groups = 1): Sequential {
  return new Sequential(
    new Conv2d(inPlanes, outPlanes, kernel, { stride, padding: (kernel - 1) / 2, groups, bias: false }),
    new BatchNorm2d(outPlanes),
    new ReLU6(),
  );
}

class InvertedResidual extends Module {
  readonly conv: Sequential;
  readonly residual: boolean;

  constructor(inPlanes: number, outPlanes: number, stride: number, expandRatio: number) {
    super();
    const hidden = Math.round(inPlanes * expandRatio);
    this.residual = stride === 1 && inPlanes === outPlanes;
    this.conv = this.child(
      "conv",
      new Sequential(
        ...(expandRatio !== 1 ? [convBnRelu6(inPlanes, hidden, 1)] : []),
        convBnRelu6(hidden, hidden, 3, stride, hidden),
        new Conv2d(hidden, outPlanes, 1, { bias: false }),
        new BatchNorm2d(outPlanes),
      ),
    );
  }

  forward(x: Tensor): Tensor {
    const out = this.conv.forward(x);
    return this.residual ? x.add(out) : out;
  }
}

/** (expansion t, channels c, blocks n, stride s) per stage, as torchvision's inverted_residual_setting. */
const SETTING: readonly (readonly [number, number, number, number])[] = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];
const LAST_CHANNELS = 1280;

export class MobileNetV2ImageNet extends ImageNetModel implements DeclaresConvBnPairs {
  readonly features: Sequential;
  readonly classifier: Sequential;

  constructor(spec: ModelSpec) {
    super("mobilenet_v2-imagenet", spec);
    const layers: Module[] = [convBnRelu6(spec.inChannels, 32, 3, 2)];
    let inPlanes = 32;
    for (const [t, c, n, s] of SETTING) {
      for (let i = 0; i < n; i++) {
        layers.push(new InvertedResidual(inPlanes, c, i === 0 ? s : 1, t));
        inPlanes = c;
      }
    }
    layers.push(convBnRelu6(inPlanes, LAST_CHANNELS, 1));
    this.features = this.child("features", new Sequential(...layers));
    this.classifier = this.child(
      "classifier",
      new Sequential(new Dropout(0.2), new Linear(LAST_CHANNELS, spec.numClasses)),
    );
    torchvisionInit(this, 0.01);
  }

  /** Every conv followed by a BN in a Sequential: each ConvBNReLU6 ("0"/"1") and each block's projection. */
  convBnPairs(): ConvBnPair[] {
    return [...this.namedModules()].flatMap(([path, m]) =>
      m instanceof Sequential ? sequentialConvBnPairs(m, `${path}.`) : [],
    );
  }

  forward(x: Tensor): Tensor {
    const out = this.features.forward(this.normalize(x));
    return this.classifier.forward(F.adaptiveAvgPool2d(out, 1).flatten(1));
  }
}

/** torchvision.models.mobilenet_v2; the spec defaults to IMAGENET_SPEC (RGB, 1000 classes). */
export const mobilenetV2ImageNet = (spec: Partial<ModelSpec> = {}): MobileNetV2ImageNet =>
  new MobileNetV2ImageNet({ ...IMAGENET_SPEC, ...spec });
