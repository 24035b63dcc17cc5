// CIFAR GoogLeNet with the parameter names of kuangliu/pytorch-cifar (models/googlenet.py): pre_layers (a 3x3
// conv-BN-ReLU stem), Inception modules a3, b3, a4..e4, a5, b5 of four branch Sequentials b1..b4, 3x3/2
// max-pools after b3 and e4, global average pooling and linear. Convs keep their biases, as in the reference.
import {
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
import { F, type Tensor } from "../torch/index.js";
import type { ModelSpec } from "./spec.js";

/** Conv (with bias), BN, ReLU: three consecutive Sequential slots, as the reference lays them out. */
const convBnRelu = (inPlanes: number, outPlanes: number, kernel: 1 | 3): Module[] => [
  new Conv2d(inPlanes, outPlanes, kernel, { padding: kernel === 3 ? 1 : 0 }),
  new BatchNorm2d(outPlanes),
  new ReLU(),
];

/** Output channels of each branch: 1x1; 1x1 then 3x3; 1x1 then two 3x3 (the "5x5" branch); pool then 1x1. */
interface InceptionWidths {
  n1x1: number;
  n3x3red: number;
  n3x3: number;
  n5x5red: number;
  n5x5: number;
  poolPlanes: number;
}

class Inception extends Module implements DeclaresConvBnPairs {
  readonly branches: Sequential[];
  readonly outPlanes: number;

  constructor(inPlanes: number, w: InceptionWidths) {
    super();
    this.branches = [
      this.child("b1", new Sequential(...convBnRelu(inPlanes, w.n1x1, 1))),
      this.child("b2", new Sequential(...convBnRelu(inPlanes, w.n3x3red, 1), ...convBnRelu(w.n3x3red, w.n3x3, 3))),
      this.child(
        "b3",
        new Sequential(
          ...convBnRelu(inPlanes, w.n5x5red, 1),
          ...convBnRelu(w.n5x5red, w.n5x5, 3),
          ...convBnRelu(w.n5x5, w.n5x5, 3),
        ),
      ),
      this.child(
        "b4",
        new Sequential(new MaxPool2d(3, { stride: 1, padding: 1 }), ...convBnRelu(inPlanes, w.poolPlanes, 1)),
      ),
    ];
    this.outPlanes = w.n1x1 + w.n3x3 + w.n5x5 + w.poolPlanes;
  }

  convBnPairs(): ConvBnPair[] {
    return this.branches.flatMap((b, i) => sequentialConvBnPairs(b, `b${i + 1}.`));
  }

  forward(x: Tensor): Tensor {
    return F.cat(
      this.branches.map((b) => b.forward(x)),
      1,
    );
  }
}

type InceptionRow = readonly [
  name: string,
  n1x1: number,
  n3x3red: number,
  n3x3: number,
  n5x5red: number,
  n5x5: number,
  poolPlanes: number,
];

/** The Inception modules of each stage; a 3x3/2 max-pool separates the stages. */
const STAGES: readonly (readonly InceptionRow[])[] = [
  [
    ["a3", 64, 96, 128, 16, 32, 32],
    ["b3", 128, 128, 192, 32, 96, 64],
  ],
  [
    ["a4", 192, 96, 208, 16, 48, 64],
    ["b4", 160, 112, 224, 24, 64, 64],
    ["c4", 128, 128, 256, 24, 64, 64],
    ["d4", 112, 144, 288, 32, 64, 64],
    ["e4", 256, 160, 320, 32, 128, 128],
  ],
  [
    ["a5", 256, 160, 320, 32, 128, 128],
    ["b5", 384, 192, 384, 48, 128, 128],
  ],
];

export class GoogLeNet extends Module implements DeclaresConvBnPairs {
  readonly preLayers: Sequential;
  /** The Inception modules in order, with max-pools (stateless, so unregistered) between stages. */
  readonly body: Module[];
  readonly linear: Linear;

  constructor({ inChannels, numClasses }: ModelSpec) {
    super();
    this.preLayers = this.child("pre_layers", new Sequential(...convBnRelu(inChannels, 192, 3)));
    let planes = 192;
    this.body = STAGES.flatMap((stage, i) => {
      const inceptions = stage.map(([name, n1x1, n3x3red, n3x3, n5x5red, n5x5, poolPlanes]) => {
        const m = this.child(name, new Inception(planes, { n1x1, n3x3red, n3x3, n5x5red, n5x5, poolPlanes }));
        planes = m.outPlanes;
        return m;
      });
      return i === 0 ? inceptions : [new MaxPool2d(3, { stride: 2, padding: 1 }), ...inceptions];
    });
    this.linear = this.child("linear", new Linear(planes, numClasses));
  }

  convBnPairs(): ConvBnPair[] {
    return sequentialConvBnPairs(this.preLayers, "pre_layers.");
  }

  forward(x: Tensor): Tensor {
    let out = this.preLayers.forward(x);
    for (const m of this.body) out = m.forward(out);
    // Global average pooling: the reference's AvgPool2d(8) on the 8x8 map of 32x32 images, for any image size.
    return this.linear.forward(F.adaptiveAvgPool2d(out, 1).flatten(1));
  }
}
