// Every model of the registry computes the same function as its PyTorch reference: with every state tensor
// filled from the same formula on both sides, eval-mode logits for a fixed 2x3x32x32 input must equal those
// recorded in test/fixtures/zoo-reference.json by scripts/fixtures/zoo_reference.py. Matching names and shapes
// (zoo.test.ts) cannot catch a wrong concatenation order, a misplaced pool or a missing residual; this can.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { createModel, modelNames } from "../../src/models/index.js";
import type { Module } from "../../src/nn/index.js";
import { noGrad, scope, tensor } from "../../src/torch/index.js";

interface Fixture {
  torch: string;
  input: number[];
  classes: number;
  models: Record<string, { logits: number[] }>;
}

const fixture = JSON.parse(
  readFileSync(fileURLToPath(new URL("../../../test/fixtures/zoo-reference.json", import.meta.url)), "utf8"),
) as Fixture;

/** Relative to the largest logit. The same libtorch agrees to ~3e-7 (float32 sums in kernel-chosen orders); a
 * wrong concatenation order in DenseNet is off by ~0.7. */
const TOLERANCE = 1e-4;

/** lowbias32(k) / 2^32 - 0.5 for k = 0..n-1: the very doubles of pattern() in zoo_reference.py. */
function pattern(n: number): Float64Array {
  const out = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let x = k;
    x ^= x >>> 16;
    x = Math.imul(x, 0x7feb352d);
    x ^= x >>> 15;
    x = Math.imul(x, 0x846ca68b);
    x ^= x >>> 16;
    out[k] = (x >>> 0) / 2 ** 32 - 0.5;
  }
  return out;
}

/** fill_value() of zoo_reference.py: He-scaled weights, BN statistics near (0, 1); undefined leaves the tensor. */
function fillValue(name: string, shape: readonly number[]): Float64Array | undefined {
  if (name.endsWith("num_batches_tracked")) return undefined;
  const n = shape.reduce((a, b) => a * b, 1);
  const p = pattern(n);
  if (name.endsWith("running_mean")) return p.map((v) => 0.1 * v);
  if (name.endsWith("running_var")) return p.map((v) => 1 + 0.5 * v);
  if (shape.length >= 2) {
    const scale = 2 * Math.sqrt(6 / (n / (shape[0] ?? 1)));
    return p.map((v) => v * scale);
  }
  if (name.endsWith("weight")) return p.map((v) => 1 + 0.2 * v);
  return p.map((v) => 0.1 * v);
}

function fill(model: Module): void {
  noGrad(() => {
    for (const [name, t] of model.stateDict()) {
      const value = fillValue(name, t.shape);
      if (value) scope(() => t.copy_(tensor(value, t.shape)));
    }
  });
}

describe(`eval-mode logits equal PyTorch's (${fixture.torch}) under formula-filled weights`, () => {
  for (const name of modelNames()) {
    test(name, () => {
      const expected = fixture.models[name]?.logits;
      assert.ok(expected, `no reference logits for ${name}`);
      const model = createModel(name, { inChannels: 3, numClasses: fixture.classes, imageSize: 32 });
      try {
        fill(model);
        model.eval();
        const actual = noGrad(() =>
          scope(() => {
            const x = tensor(
              pattern(2 * 3 * 32 * 32).map((v) => 2 * v),
              fixture.input,
            ).float();
            return model.forward(x).toArray();
          }),
        );
        assert.equal(actual.length, expected.length);
        const scale = Math.max(...expected.map(Math.abs));
        const worst = Math.max(...actual.map((v, i) => Math.abs(v - (expected[i] ?? Number.NaN))));
        assert.ok(worst <= TOLERANCE * scale, `${name}: max |difference| ${worst} vs max |logit| ${scale}`);
      } finally {
        model.dispose();
      }
    });
  }
});
