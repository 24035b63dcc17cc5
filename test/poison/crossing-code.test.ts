// The crossing code (../../src/poison/crossing-code.ts): bounds under which a release, posterized, is its source
// posterized and moved one band in the class's direction wherever a value can reach a threshold. The posterizing
// here is written out independently: keep the top bits of the value.
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  ChunkStore,
  codeSigns,
  craftShard,
  crossingInterval,
  methodOf,
  methodSettings,
} from "../../src/poison/index.js";
import { linearModel, targetedSource } from "./synthetic-release.js";

const posterize = (value: number, bits: number) => value & (0xff << (8 - bits)) & 0xff;

describe("crossing code", { timeout: 120_000 }, () => {
  test("intervals on hand-picked values at 2 bits and 16 levels", () => {
    assert.deepEqual(crossingInterval(60, 1, 2, 16), [4, 16], "up across 64");
    assert.deepEqual(crossingInterval(70, 1, 2, 16), [-6, 16], "64 is behind: not back below it");
    assert.deepEqual(crossingInterval(70, -1, 2, 16), [-16, -7], "down across 64, to 63");
    assert.deepEqual(crossingInterval(100, -1, 2, 16), [-16, 16], "no threshold within reach");
    assert.deepEqual(crossingInterval(0, 1, 2, 16), [0, 16], "black: nothing to cross, and no value below 0");
    assert.deepEqual(crossingInterval(250, 1, 2, 16), [-16, 5], "no threshold above 192; within 255");
  });

  test("every value, direction, depth and budget: inside the ball, and posterized as the code says", () => {
    for (let bits = 1; bits <= 7; bits++)
      for (const levels of [4, 8, 16])
        for (const sign of [1, -1])
          for (let v = 0; v < 256; v++) {
            const [lo, hi] = crossingInterval(v, sign, bits, levels);
            assert.ok(lo <= hi && lo >= -levels && hi <= levels && v + lo >= 0 && v + hi <= 255, `${v} ${sign}`);
            const band = 2 ** (8 - bits);
            // Can v reach a threshold in its direction? Some value within the ball posterizes into another band.
            const reach = [...Array(2 * levels + 1).keys()]
              .map((k) => v + k - levels)
              .filter((w) => w >= 0 && w <= 255 && Math.sign(w - v) === sign)
              .some((w) => posterize(w, bits) !== posterize(v, bits));
            for (let d = lo; d <= hi; d++) {
              const moved = posterize(v + d, bits) - posterize(v, bits);
              const at = `bits ${bits} levels ${levels} value ${v} sign ${sign} +${d}`;
              // Bands wider than the budget: one crossing at most; narrower ones may be crossed more than once.
              if (band > levels) assert.equal(moved, reach ? sign * band : 0, at);
              else assert.ok(reach ? sign * moved >= band : moved === 0, at);
              // Coarser posterizing keeps a subset of the thresholds: never a move against the code.
              for (let fewer = 1; fewer < bits; fewer++) {
                const m = posterize(v + d, fewer) - posterize(v, fewer);
                assert.ok(m === 0 || Math.sign(m) === sign, `bits ${fewer} of the ${bits}-bit code, ${v} +${d}`);
              }
            }
          }
  });

  test("one sign per patch and class, distinct between classes, a function of the seed", () => {
    const labels = Int32Array.from([0, 1, 2, 0]);
    const signs = codeSigns(labels, [4, 1, 8, 6], 3, 4, 7);
    const at = (b: number, y: number, x: number) => signs[b * 48 + y * 6 + x]!;
    assert.deepEqual(
      [...Array(4).keys()].map((b) => at(b, 0, 0) === at(b, 3, 3)),
      [true, true, true, true],
      "a patch is one sign",
    );
    assert.deepEqual(signs.subarray(0, 48), signs.subarray(144, 192), "images of one class share the pattern");
    const pattern = (b: number) => [at(b, 0, 0), at(b, 0, 4), at(b, 4, 0), at(b, 4, 4)].join();
    assert.equal(new Set([0, 1, 2].map(pattern)).size, 3, "classes differ");
    assert.deepEqual(codeSigns(labels, [4, 1, 8, 6], 3, 4, 7), signs);
    assert.notDeepEqual(codeSigns(labels, [4, 1, 8, 6], 3, 4, 8), signs);
    assert.throws(() => codeSigns(labels, [4, 1, 8, 6], 5, 8, 7), /2 distinct class patterns, fewer than 5 classes/);
  });

  test("the settings: 1 to 7 bits, and plans without a code keep their settings", () => {
    assert.deepEqual(methodSettings(methodOf("targeted"), {}), {});
    assert.deepEqual(methodSettings(methodOf("untargeted"), { crossBits: 3 }), { crossBits: 3 });
    for (const crossBits of [0, 8, 2.5])
      assert.throws(() => methodSettings(methodOf("targeted"), { crossBits }), /crossBits/);
  });

  for (const classShare of [undefined, 0.5])
    test(`a crafted release posterizes to the code${classShare ? ", with the class-wise part" : ""}`, async () => {
      const s = targetedSource({ crossBits: 2, crossPatch: 2, ...(classShare ? { classShare, classSample: 2 } : {}) });
      const { plan } = s;
      const store = ChunkStore.open(join(s.root, "code.work"), plan);
      await craftShard(s.train, plan, [linearModel(3)], store);
      const source = s.train.images!;
      const signs = codeSigns(s.train.labels, [s.train.count, 1, 8, 6], 10, 2, plan.seed);
      let crossed = 0;
      for (const k of store.done()) {
        const { indices, images } = store.load(k);
        indices.forEach((i, r) => {
          for (let p = 0; p < 48; p++) {
            const v = source[i * 48 + p]!;
            const w = images[r * 48 + p]!;
            const sign = signs[i * 48 + p]!;
            assert.ok(Math.abs(w - v) <= 16);
            const reach = sign > 0 ? Math.min(255, v + 16) >> 6 !== v >> 6 : Math.max(0, v - 16) >> 6 !== v >> 6;
            assert.equal(posterize(w, 2) - posterize(v, 2), reach ? sign * 64 : 0, `image ${i} value ${p}`);
            if (reach) crossed++;
          }
        });
      }
      assert.ok(crossed > 0, "some values crossed");
    });
});
