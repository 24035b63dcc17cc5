// Dropout with p > 0, as torch.nn.Dropout: in training each element is zeroed with probability p and the
// survivors are scaled by 1/(1-p) (so the expectation is unchanged); in eval mode it is the identity.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Dropout } from "../../src/nn/index.js";
import { manualSeed, ones, scope } from "../../src/torch/index.js";

const N = 200_000;

test("Dropout(p) in training zeroes a fraction p and scales the rest by 1/(1-p)", () => {
  for (const p of [0.1, 0.5, 0.8]) {
    scope(() => {
      manualSeed(7);
      const layer = new Dropout(p);
      layer.train();
      const out = layer.forward(ones([N])).toArray();
      const zeros = out.filter((v) => v === 0).length / N;
      // Five standard errors of a binomial fraction: sqrt(p(1-p)/N) is at most 0.0011 here.
      assert.ok(Math.abs(zeros - p) < 5 * Math.sqrt((p * (1 - p)) / N), `p ${p}: ${zeros} zeroed`);
      const scale = 1 / (1 - p);
      assert.ok(
        out.every((v) => v === 0 || Math.abs(v - scale) < 1e-5 * scale),
        `p ${p}: survivors must be 1/(1-p) = ${scale}`,
      );
      // Independent draws: a second call zeroes other elements.
      const again = layer.forward(ones([N])).toArray();
      assert.ok(again.some((v, i) => (v === 0) !== (out[i] === 0)));
    });
  }
});

test("Dropout in eval mode, and Dropout(0), are the identity", () => {
  scope(() => {
    const x = ones([4, 5]).mul(3);
    const layer = new Dropout(0.5);
    layer.eval();
    assert.ok(layer.forward(x).equal(x));
    const none = new Dropout(0);
    none.train();
    assert.ok(none.forward(x).equal(x));
  });
});
