// PGD against an ensemble of two crafting models, checked directly on synthetic images: the objective it
// reports is the mean of the members' objectives, its step follows the sign of the mean's gradient (both
// members count), and success is judged on the members' mean logits.
import assert from "node:assert/strict";
import { test } from "node:test";
import { SmallCNN } from "../../src/models/index.js";
import { pgd, targeted } from "../../src/poison/index.js";
import { grad, manualSeed, noGrad, rand, scope, type Tensor, tensor } from "../../src/torch/index.js";

const SPEC = { inChannels: 1, numClasses: 4, imageSize: 12 };

function member(seed: number): SmallCNN {
  manualSeed(seed);
  const m = new SmallCNN({ ...SPEC, batchNorm: false });
  m.eval().requiresGrad_(false);
  return m;
}

test("pgd with 2 crafters: loss is the members' mean, the step follows the mean's gradient", () => {
  const models = [member(1), member(2)];
  try {
    scope(() => {
      manualSeed(3);
      const x = rand([6, 1, 12, 12]);
      const y = tensor(Int32Array.of(0, 1, 2, 3, 0, 1), [6]).long();
      const target = y.add(1).remainder(4);
      const eps = 8 / 255;
      const stepSize = 2 / 255;
      const options = { eps, stepSize, init: "zero", restarts: 1, augment: undefined } as const;
      const perMember = (input: Tensor) => models.map((m) => targeted.loss(m.forward(input), y, target));

      // One step from zero: delta = clamp(x - stepSize * sign(grad of the mean), 0, 1) - x.
      const one = pgd(models, x, y, target, targeted, { ...options, steps: 1 });
      const d = x.mul(0).requiresGrad_(true);
      const [a, b] = perMember(x.add(d));
      const [g] = grad(a!.add(b!).div(2).sum(), d);
      const expected = noGrad(() => x.sub(g!.sign().mul(stepSize)).clamp(0, 1).sub(x));
      assert.ok(one.delta.sub(expected).abs().amax().item() < 1e-6, "the step is not the mean's signed gradient");
      // Neither member's gradient alone gives that step (else the check above could not tell).
      for (const m of models) {
        const dm = x.mul(0).requiresGrad_(true);
        const [gm] = grad(targeted.loss(m.forward(x.add(dm)), y, target).sum(), dm);
        assert.ok(!gm!.sign().equal(g!.sign()), "a member's gradient sign equals the ensemble's");
      }

      const r = pgd(models, x, y, target, targeted, { ...options, steps: 3 });
      assert.ok(r.delta.abs().amax().item() <= eps + 1e-6);
      noGrad(() => {
        const input = x.add(r.delta);
        const [la, lb] = perMember(input).map((l) => l.toArray());
        r.loss.forEach((l, i) => {
          const mean = (la![i]! + lb![i]!) / 2;
          assert.ok(Math.abs(l - mean) < 1e-5, `sample ${i}: loss ${l}, members' mean ${mean}`);
        });
        const meanLogits = models[0]!.forward(input).add(models[1]!.forward(input)).div(2);
        assert.deepEqual(Array.from(r.success), Array.from(meanLogits.argmax(1).eq(target).toArray(), Number));
      });
    });
  } finally {
    for (const m of models) m.dispose();
  }
});
