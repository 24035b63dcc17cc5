// The frozen crafting copy (src/models/inference.ts): folding each stated batch norm into its conv is exact to
// fp32 round-off for every architecture of the zoo, leaves only batch norms that no conv feeds unfolded, and
// leaves the original alone; the fp32 copy computes bit for bit what the original does without moving the
// generator; the bf16 copy (autocast, channels-last) returns fp32 logits with the same argmax as fp32.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { createModel, modelNames, prepareForCrafting } from "../../src/models/index.js";
import { BatchNorm2d, type Module } from "../../src/nn/index.js";
import { grad, loadSafetensors, manualSeed, noGrad, rand, scope, type Tensor } from "../../src/torch/index.js";

const CIFAR = { inChannels: 3, numClasses: 10, imageSize: 32 };

/** Running statistics and affine parameters away from their initial 0/1, so that folding has work to do. */
function randomiseBatchNorms(model: Module): void {
  noGrad(() => {
    for (const [, m] of model.namedModules()) {
      if (!(m instanceof BatchNorm2d)) continue;
      for (const [name, t] of m.namedBuffers()) {
        if (name === "running_mean") t.copy_(rand(t.shape).sub(0.5).mul(0.2));
        if (name === "running_var") t.copy_(rand(t.shape).add(0.5));
      }
      for (const [name, t] of m.namedParameters()) t.copy_(rand(t.shape).add(name === "weight" ? 0.5 : -0.5));
    }
  });
}

function maxAbs(t: Tensor): number {
  return t.abs().amax().item();
}

function unfoldedBatchNorms(model: Module): string[] {
  return [...model.namedModules()].filter(([, m]) => m instanceof BatchNorm2d && !m.folded).map(([path]) => path);
}

describe("folding batch norms", () => {
  for (const name of modelNames()) {
    test(`${name}: the folded copy equals the model within fp32 round-off`, () =>
      scope(() => {
        manualSeed(0);
        const model = createModel(name, CIFAR);
        randomiseBatchNorms(model);
        model.eval();
        const x = rand([2, 3, 32, 32]);
        const before = noGrad(() => model.forward(x));
        const copy = prepareForCrafting(model, { precision: "fp32", foldBatchNorm: true });
        const folded = noGrad(() => copy.forward(x));
        const diff = maxAbs(folded.sub(before));
        assert.ok(diff <= 1e-5 * Math.max(1, maxAbs(before)), `folded logits differ by ${diff}`);
        assert.ok(noGrad(() => model.forward(x)).equal(before), "the original model changed");
        assert.deepEqual(
          unfoldedBatchNorms(model).length,
          [...model.namedModules()].filter(([, m]) => m instanceof BatchNorm2d).length,
        );
        // Only DenseNet has batch norms that follow a concatenation (pre-activation), which no conv can absorb.
        const left = unfoldedBatchNorms(copy);
        if (name === "densenet121") {
          assert.ok(
            left.every((p) => /\.bn1$|^model\.trans\d\.bn$|^model\.bn$/.test(p)),
            left.join(", "),
          );
          assert.equal(copy.folded, 58);
        } else {
          assert.deepEqual(left, []);
        }
        copy.dispose();
        model.dispose();
      }));
  }

  test("a batch norm folds once, and only into a conv of its width", () => {
    const model = createModel("smallcnn-bn", { inChannels: 1, numClasses: 10, imageSize: 28 }).eval();
    const [, conv1] = [...model.namedModules()].find(([p]) => p === "conv1")!;
    const [, conv2] = [...model.namedModules()].find(([p]) => p === "conv2")!;
    const [, bn2] = [...model.namedModules()].find(([p]) => p === "bn2")!;
    assert.ok(bn2 instanceof BatchNorm2d);
    assert.throws(() => bn2.foldInto(conv1 as never), /conv has 32 output channels, batch norm 64/);
    bn2.foldInto(conv2 as never);
    assert.throws(() => bn2.foldInto(conv2 as never), /already folded/);
  });
});

describe("prepareForCrafting", () => {
  const fixture = loadSafetensors(
    fileURLToPath(new URL("../../../test/fixtures/smallcnn-bn.safetensors", import.meta.url)),
  ).tensors;
  const fixed = (): Module => {
    const model = createModel("smallcnn-bn", { inChannels: 1, numClasses: 10, imageSize: 28 });
    model.loadStateDict(new Map([...fixture].filter(([k]) => !k.startsWith("ref."))));
    return model.eval();
  };

  test("fp32: bit-identical logits and the generator where it was", () =>
    scope(() => {
      const model = fixed();
      manualSeed(3);
      const x = rand([8, 1, 28, 28]);
      const copy = prepareForCrafting(model, { precision: "fp32" });
      const next = rand([4]);
      manualSeed(3);
      rand([8, 1, 28, 28]);
      assert.ok(rand([4]).equal(next), "preparing the copy drew from the generator");
      assert.equal(copy.folded, 0);
      assert.ok(noGrad(() => copy.forward(x)).equal(noGrad(() => model.forward(x))));
      assert.ok(copy.parameters().every((p) => !p.requiresGrad));
      assert.throws(() => copy.train(), /frozen for inference/);
    }));

  test("bf16: fp32 logits with the fp32 argmax on >= 99% of a batch, channels-last weights, fp32 input gradients", () =>
    scope(() => {
      const model = fixed();
      manualSeed(4);
      const x = rand([1024, 1, 28, 28]);
      const copy = prepareForCrafting(model, { precision: "bf16" });
      assert.equal(copy.folded, 2);
      const conv = copy.parameters().find((p) => p.ndim === 4)!;
      assert.equal(conv.isContiguous("channels_last"), true);
      // Frozen conv and linear tensors are cast to bf16 once, not by autocast in every pass.
      assert.deepEqual(new Set(copy.parameters().map((p) => p.dtype)), new Set(["bfloat16"]));
      const exact = noGrad(() => model.forward(x));
      const low = noGrad(() => copy.forward(x));
      assert.equal(low.dtype, "float32");
      assert.ok(!low.equal(exact), "bf16 logits equal fp32 ones: autocast did not run");
      const agree = low.argmax(1).eq(exact.argmax(1)).float().mean().item();
      assert.ok(agree >= 0.99, `argmax agrees on ${(100 * agree).toFixed(1)}% only`);
      const input = x.detach().requiresGrad_(true);
      const [g] = grad(copy.forward(input).sum(), input);
      assert.equal(g!.dtype, "float32");
      assert.deepEqual(g!.shape, x.shape);
    }));
});
