// The differentiable augmentation. "authors" equals a PyTorch re-implementation of lhfowl/adversarial_poisons'
// RandomTransform on the same draws, output and input gradient (test/fixtures/random-transform.safetensors,
// written by scripts/fixtures/random_transform.py), and shifts by at most shift/2 pixels with mean-colour
// padding; "quarter" shifts by up to a quarter of the side with black padding. Both flip, and both draw
// their randomness as rand([N, 3]) does when no draws are given.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import {
  authorsDiffAugment,
  authorsShift,
  DEFAULT_DIFF_AUGMENT_KIND,
  type DiffAugmentOptions,
  diffAugment,
  diffAugmentOf,
  QUARTER_DIFF_AUGMENT,
} from "../../src/poison/index.js";
import { arange, grad, loadSafetensors, manualSeed, rand, scope, type Tensor, tensor } from "../../src/torch/index.js";

const FIXTURE = fileURLToPath(new URL("../../../test/fixtures/random-transform.safetensors", import.meta.url));
/** Float32 sampling of the same grid on both sides; the normalisation round trip costs ~1e-7. */
const TOLERANCE = 1e-6;

function maxAbsDiff(a: Tensor, b: Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  return scope(() => a.sub(b).abs().amax().item());
}

/** A 1-channel side x side image whose pixel (i, j) is i * side + j, scaled into [0, 1]. */
function ramp(side: number): Tensor {
  return arange(0, side * side, 1, { dtype: "float32" })
    .div(side * side)
    .reshape(1, 1, side, side);
}

describe("the authors' RandomTransform", () => {
  const { tensors } = loadSafetensors(FIXTURE);
  after(() => {
    for (const t of tensors.values()) t.dispose();
  });
  const get = (k: string): Tensor => {
    const t = tensors.get(k);
    assert.ok(t, `fixture lacks '${k}'`);
    return t;
  };

  for (const [name, side] of [
    ["mnist28", 28],
    ["cifar32", 32],
  ] as const) {
    test(`${name}: output and input gradient equal PyTorch's on the same draws`, () => {
      const o = authorsDiffAugment(side, get(`${name}.mean`).toArray());
      assert.equal(o.shift, get(`${name}.shift`).item(), "furnace.py's shift for this side");
      scope(() => {
        const x = get(`${name}.x`).detach().requiresGrad_(true);
        const out = diffAugment(x, o, get(`${name}.draws`));
        const [g] = grad(out.mul(get(`${name}.w`)).sum(), x);
        const outDiff = maxAbsDiff(out.detach(), get(`${name}.out`));
        const gradDiff = maxAbsDiff(g!, get(`${name}.grad`));
        assert.ok(outDiff <= TOLERANCE, `output differs by ${outDiff}`);
        assert.ok(gradDiff <= TOLERANCE, `gradient differs by ${gradDiff}`);
      });
    });
  }

  test("furnace.py's shifts: 4 for 28 px, 8 for 32, 56 for 224, a quarter of other sides", () => {
    assert.deepEqual([28, 32, 224, 64, 96, 30].map(authorsShift), [4, 8, 56, 16, 24, 7]);
    assert.throws(() => authorsShift(1.5), /image side must be an integer >= 2, got 1.5/);
  });

  test("the default kind is the authors', with the side's shift and the given fill", () => {
    assert.deepEqual(diffAugmentOf(DEFAULT_DIFF_AUGMENT_KIND, 32, [0.49, 0.48, 0.45]), {
      kind: "authors",
      shift: 8,
      flip: true,
      fill: [0.49, 0.48, 0.45],
    });
    assert.deepEqual(diffAugmentOf("quarter", 32, [0.5]), QUARTER_DIFF_AUGMENT);
  });

  test("the largest draw shifts by shift/2 pixels and pads with the fill colour", () => {
    const fill = 0.25;
    scope(() => {
      const x = ramp(32);
      // u = 1 on both axes: sample 4 px right and 4 px down; 0 for the flip draw: not flipped.
      const out = diffAugment(x, authorsDiffAugment(32, [fill]), tensor([1, 1, 0], [1, 3]));
      const inside = x.slice(2, 4, 32).slice(3, 4, 32);
      assert.ok(maxAbsDiff(out.slice(2, 0, 28).slice(3, 0, 28), inside) < 1e-5, "not a 4 px shift");
      assert.ok(maxAbsDiff(out.slice(3, 28, 32), tensor(new Float32Array(32 * 4).fill(fill), [1, 1, 32, 4])) < 1e-6);
    });
  });

  test("a flip draw above 0.5 mirrors the columns; the identity draw changes nothing", () => {
    scope(() => {
      const x = ramp(28);
      const o = authorsDiffAugment(28, [0.5]);
      assert.ok(maxAbsDiff(diffAugment(x, o, tensor([0.5, 0.5, 0.75], [1, 3])), x.flip(3)) < 1e-6);
      assert.ok(maxAbsDiff(diffAugment(x, o, tensor([0.5, 0.5, 0.25], [1, 3])), x) < 1e-6);
      assert.ok(maxAbsDiff(diffAugment(x, { ...o, flip: false }, tensor([0.5, 0.5, 0.75], [1, 3])), x) < 1e-6);
    });
  });

  test("settings that do not fit the images are refused", () => {
    scope(() => {
      const x = rand([2, 1, 8, 8]);
      assert.throws(() => diffAugment(x, authorsDiffAugment(8, [0, 0, 0])), /fill has 3 values for 1 channels/);
      assert.throws(
        () => diffAugment(x, { kind: "authors", shift: 8, flip: true, fill: [0] }),
        /shift must be an integer in \[0, 7\], got 8/,
      );
      assert.throws(() => diffAugment(x, QUARTER_DIFF_AUGMENT, rand([2, 2])), /draws must be \[2, 3\], got \[2, 2\]/);
    });
  });
});

describe("the quarter-side transform (the earlier default)", () => {
  test("the largest draw shifts by a quarter of the side with black padding", () => {
    scope(() => {
      const x = ramp(32);
      // Column 0 >= 0.5: not flipped; x shift draw 1: 8 px; y shift draw 0.5: none.
      const out = diffAugment(x, QUARTER_DIFF_AUGMENT, tensor([0.9, 1, 0.5], [1, 3]));
      assert.ok(maxAbsDiff(out.slice(3, 0, 24), x.slice(3, 8, 32)) < 1e-5, "not an 8 px shift");
      assert.equal(out.slice(3, 24, 32).abs().amax().item(), 0, "padding is not black");
    });
  });

  test("a flip draw below 0.5 mirrors the columns, unless flips are off", () => {
    scope(() => {
      const x = ramp(28);
      const draws = tensor([0.1, 0.5, 0.5], [1, 3]);
      assert.ok(maxAbsDiff(diffAugment(x, QUARTER_DIFF_AUGMENT, draws), x.flip(3)) < 1e-6);
      assert.ok(maxAbsDiff(diffAugment(x, { ...QUARTER_DIFF_AUGMENT, flip: false }, draws), x) < 1e-6);
    });
  });
});

test("without injected draws both kinds use rand([N, 3]) as they would read injected ones", () => {
  const kinds: DiffAugmentOptions[] = [QUARTER_DIFF_AUGMENT, authorsDiffAugment(28, [0.3])];
  for (const o of kinds) {
    scope(() => {
      const x = rand([5, 1, 28, 28]);
      manualSeed(7);
      const drawn = diffAugment(x, o);
      manualSeed(7);
      const injected = diffAugment(x, o, rand([5, 3]));
      assert.equal(maxAbsDiff(drawn, injected), 0, o.kind);
    });
  }
});
