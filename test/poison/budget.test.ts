import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { checkEps, levelsOf, perturbationNorms, quantize } from "../../src/poison/index.js";

describe("quantisation", () => {
  test("released pixels never leave the eps ball or [0, 255], whatever the perturbation", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 200 }),
        fc.double({ min: 0.5, max: 64, noNaN: true }),
        fc.integer(),
        (source, eps, seed) => {
          // Perturbations well outside the ball too: quantize must clip them, not trust them.
          let s = seed >>> 0;
          const delta = Float32Array.from(source, () => {
            s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
            return ((s / 2 ** 32) * 2 - 1) * eps * 1.5;
          });
          const out = quantize(source, delta, eps);
          const levels = levelsOf(eps);
          for (let i = 0; i < source.length; i++) {
            const d = Math.abs(out[i]! - source[i]!);
            if (d > levels) return false;
            if (out[i]! < 0 || out[i]! > 255) return false;
          }
          return true;
        },
      ),
      { numRuns: 500 },
    );
  });

  test("a non-finite perturbation anywhere is a RangeError naming its first position, never a pixel", () => {
    const value = fc.oneof(
      { weight: 4, arbitrary: fc.double({ min: -100, max: 100, noNaN: true }) },
      { weight: 1, arbitrary: fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY) },
    );
    fc.assert(
      fc.property(
        fc.array(value, { minLength: 1, maxLength: 100 }),
        fc.double({ min: 0.5, max: 64, noNaN: true }),
        (values, eps) => {
          const delta = Float32Array.from(values);
          const source = Uint8Array.from(values, (_, i) => (i * 37) % 256);
          const first = delta.findIndex((d) => !Number.isFinite(d));
          if (first < 0) {
            const out = quantize(source, delta, eps);
            return out.every((v, i) => Math.abs(v - source[i]!) <= levelsOf(eps));
          }
          assert.throws(
            () => quantize(source, delta, eps),
            (e: unknown) =>
              e instanceof RangeError &&
              e.message.includes(`non-finite perturbation ${delta[first]} at value ${first}`),
          );
          return true;
        },
      ),
      { numRuns: 500 },
    );
  });

  test("a perturbation inside the ball is rounded to the nearest grey level", () => {
    const source = new Uint8Array([10, 10, 250, 0]);
    const out = quantize(source, new Float32Array([2.4, -2.6, 7.9, -3]), 8);
    assert.deepEqual([...out], [12, 7, 255, 0]);
  });

  test("a fractional eps allows only its whole grey levels", () => {
    assert.equal(levelsOf(8.9), 8);
    const out = quantize(new Uint8Array([100]), new Float32Array([8.9]), 8.9);
    assert.equal(out[0], 108);
  });

  test("norms per image in grey levels", () => {
    const { linf, l2 } = perturbationNorms(new Uint8Array([0, 0, 5, 5]), new Uint8Array([3, 4, 5, 5]), 2);
    assert.deepEqual([...linf], [4, 0]);
    assert.deepEqual([...l2], [5, 0]);
  });

  test("eps outside (0, 64] is refused with the reason", () => {
    for (const bad of [0, -1, 65, Number.NaN]) assert.throws(() => checkEps(bad), /eps must be in \(0, 64\]/);
    assert.equal(checkEps(8), 8);
  });
});
