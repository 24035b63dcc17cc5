// Every model of the registry: its state dict against the PyTorch reference definitions (names, shapes and
// dtypes, in order, and parameter counts, for 3x32x32 images and 10 classes: test/fixtures/zoo-reference.json,
// written by scripts/fixtures/zoo_reference.py), so PyTorch checkpoints load unchanged; one forward and backward
// pass on batches of 2 grey 28x28 (not the RGB-only ImageNet models, which refuse them) and colour 32x32 images,
// which must give [2, classes] logits and a finite gradient for every parameter; and an eval-mode forward pass
// on larger images.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { createModel, type ModelSpec, modelNames } from "../../src/models/index.js";
import { F, manualSeed, noGrad, randint, randn, scope } from "../../src/torch/index.js";

interface StateEntry {
  name: string;
  shape: number[];
  dtype: string;
}
interface Fixture {
  torch: string;
  models: Record<string, { parameters: number; state: StateEntry[] }>;
}

const fixture = JSON.parse(
  readFileSync(fileURLToPath(new URL("../../../test/fixtures/zoo-reference.json", import.meta.url)), "utf8"),
) as Fixture;

const CIFAR: ModelSpec = { inChannels: 3, numClasses: 10, imageSize: 32 };
const GREY: ModelSpec = { inChannels: 1, numClasses: 7, imageSize: 28 };
/** Larger images (a downscaled ImageFolder), from which the fixed pools of the reference definitions would leave
 * more features than their classifiers take. */
const LARGER: ModelSpec = { inChannels: 3, numClasses: 10, imageSize: 64 };

const label = (s: ModelSpec) => `2x${s.inChannels}x${s.imageSize}x${s.imageSize}, ${s.numClasses} classes`;

before(() => manualSeed(0));

describe("model registry", () => {
  test("lists every model", () => {
    assert.deepEqual(modelNames(), [
      "smallcnn",
      "smallcnn-bn",
      "convnet",
      "resnet18",
      "resnet34",
      "vgg11",
      "vgg16",
      "mobilenetv2",
      "densenet121",
      "googlenet",
      "resnet18-imagenet",
      "resnet50-imagenet",
      "mobilenet_v2-imagenet",
    ]);
  });

  test("the fixture covers exactly the registry", () => {
    assert.deepEqual(Object.keys(fixture.models).sort(), [...modelNames()].sort());
  });

  test("an unknown name is an error listing the valid ones", () => {
    assert.throws(() => createModel("resnet50", CIFAR), {
      message: `unknown model 'resnet50'; valid names: ${modelNames().join(", ")}`,
    });
  });

  test("convnet takes a width", () => {
    const narrow = createModel("convnet", { ...CIFAR, width: 16 });
    try {
      assert.deepEqual(narrow.stateDict().get("model.linear.weight")?.shape, [10, 64 * 9]);
    } finally {
      narrow.dispose();
    }
  });
});

for (const name of modelNames()) {
  describe(name, () => {
    test(`state dict equals PyTorch's (${fixture.torch}) for 3x32x32 and 10 classes`, () => {
      const reference = fixture.models[name];
      assert.ok(reference, `no reference for ${name}`);
      const model = createModel(name, CIFAR);
      try {
        const ours = [...model.stateDict()].map(([k, t]) => ({ name: k, shape: t.shape, dtype: t.dtype }));
        assert.deepEqual(ours, reference.state);
        assert.equal(model.numParameters(), reference.parameters);
      } finally {
        model.dispose();
      }
    });

    // The ImageNet models normalise RGB with ImageNet's mean and std: one channel is refused, by name.
    if (name.endsWith("-imagenet")) {
      test(`refuses ${label(GREY)}`, () => {
        assert.throws(() => createModel(name, GREY), {
          message: `${name} takes RGB images (3 channels, normalised with ImageNet's mean and std), not 1`,
        });
      });
    }

    for (const spec of name.endsWith("-imagenet") ? [CIFAR] : [GREY, CIFAR]) {
      test(`forward and backward on ${label(spec)}`, () => {
        const model = createModel(name, spec);
        try {
          scope(() => {
            const logits = model.forward(randn([2, spec.inChannels, spec.imageSize, spec.imageSize]));
            assert.deepEqual(logits.shape, [2, spec.numClasses]);
            F.crossEntropy(logits, randint(0, spec.numClasses, [2])).backward();
            for (const [p, t] of model.namedParameters()) {
              const g = t.grad;
              assert.ok(g, `${p} got no gradient`);
              assert.ok(Number.isFinite(g.abs().sum().item()), `${p} got a non-finite gradient`);
            }
          });
        } finally {
          model.dispose();
        }
      });
    }

    test(`eval-mode forward on ${label(LARGER)}`, () => {
      const model = createModel(name, LARGER).eval();
      try {
        const shape = noGrad(() => scope(() => model.forward(randn([2, 3, LARGER.imageSize, LARGER.imageSize])).shape));
        assert.deepEqual(shape, [2, LARGER.numClasses]);
      } finally {
        model.dispose();
      }
    });
  });
}
