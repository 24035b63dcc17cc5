import assert from "node:assert/strict";
import { test } from "node:test";
import { Rng } from "../../src/data/rng.js";

const draw = (rng: Rng, n: number) => Array.from({ length: n }, () => rng.nextUint32());

test("rng: the same seed and stream repeat; other seeds and streams differ", () => {
  assert.deepEqual(draw(new Rng(42), 8), draw(new Rng(42), 8));
  assert.notDeepEqual(draw(new Rng(42), 8), draw(new Rng(43), 8));
  assert.notDeepEqual(draw(new Rng(42, 0), 8), draw(new Rng(42, 1), 8));
  // Seeds differing only above bit 32 still differ.
  assert.notDeepEqual(draw(new Rng(2 ** 40), 8), draw(new Rng(0), 8));
  assert.throws(() => new Rng(1.5), RangeError);
});

test("rng: nextInt and nextFloat stay in range and are roughly uniform", () => {
  const rng = new Rng(7);
  const counts = new Array<number>(5).fill(0);
  for (let i = 0; i < 50_000; i++) {
    const k = rng.nextInt(5);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 5);
    counts[k]!++;
  }
  for (const c of counts) assert.ok(Math.abs(c - 10_000) < 400, `counts ${counts}`);
  let sum = 0;
  for (let i = 0; i < 10_000; i++) {
    const f = rng.nextFloat();
    assert.ok(f >= 0 && f < 1);
    sum += f;
  }
  assert.ok(Math.abs(sum / 10_000 - 0.5) < 0.02);
  assert.equal(rng.nextInt(1), 0);
  assert.throws(() => rng.nextInt(0), RangeError);
});

test("rng: shuffle is a seeded permutation", () => {
  const a = new Rng(3).shuffle(Int32Array.from({ length: 100 }, (_, i) => i));
  const b = new Rng(3).shuffle(Int32Array.from({ length: 100 }, (_, i) => i));
  assert.deepEqual(a, b);
  assert.deepEqual(
    Array.from(a).sort((x, y) => x - y),
    Array.from({ length: 100 }, (_, i) => i),
  );
  assert.notDeepEqual(
    Array.from(a),
    Array.from({ length: 100 }, (_, i) => i),
  );
});
