// The class-wise part of the adversarial poisons (classShare): one perturbation per class, crafted before the
// chunks under its own seed, so that a chunk's bytes do not depend on which chunks a process crafts.
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { buildBatch } from "../../src/data/index.js";
import {
  ChunkStore,
  classSample,
  classWisePerturbation,
  craftShard,
  methodOf,
  methodSettings,
  targeted,
} from "../../src/poison/index.js";
import { manualSeed, noGrad, scope, type Tensor, tensor } from "../../src/torch/index.js";
import { linearModel, targetedSource } from "./synthetic-release.js";

describe("class-wise perturbations", { timeout: 60_000 }, () => {
  test("the sample is the first images of each class, in order", () => {
    const labels = Int32Array.from([0, 1, 0, 2, 1, 0, 0]);
    assert.deepEqual([...classSample(labels, Int32Array.from([0, 1, 2, 3, 4, 5, 6]), 3, 2)], [0, 1, 2, 3, 4]);
    assert.deepEqual([...classSample(labels, Int32Array.from([6, 5, 4]), 3, 1)], [6, 4]);
  });

  test("one perturbation per class, in the ball, that lowers the targeted loss of the class's images", () => {
    const s = targetedSource({});
    const model = linearModel(3);
    const all = Int32Array.from({ length: s.train.count }, (_, i) => i);
    const eps = 16 / 255;
    manualSeed(0);
    // Batches of 5: a step sums the gradients of three batches.
    const craft = (batchSize: number) =>
      classWisePerturbation(
        [model],
        s.train,
        all,
        targeted,
        {
          eps,
          stepSize: eps / 5,
          steps: 10,
          augment: undefined,
          perClass: 4,
          batchSize,
          permutation: s.plan.permutation,
        },
        "cpu",
      );
    const u = craft(5);
    assert.deepEqual(u.shape, [10, 1, 8, 6]);
    const max = noGrad(() => scope(() => u.abs().amax().item()));
    assert.ok(max <= eps + 1e-7 && max > eps / 2, `max |u| ${max}`);
    const sample = buildBatch(s.train, classSample(s.train.labels, all, 10, 4));
    const target = tensor(
      Int32Array.from(sample.indices, (i) => s.plan.permutation[s.train.labels[i]!]!),
      [sample.indices.length],
    ).long();
    const loss = (d?: Tensor) =>
      noGrad(() =>
        scope(() => {
          const input = d ? sample.x.add(d.indexSelect(0, sample.y)).clamp(0, 1) : sample.x;
          return targeted.loss(model.forward(input), sample.y, target).mean().item();
        }),
      );
    assert.ok(loss(u) < loss() - 0.1, `targeted loss ${loss()} -> ${loss(u)}`);
    // Batching only splits the sum of the gradients: one batch gives the same perturbation.
    const once = craft(100);
    assert.ok(noGrad(() => scope(() => once.sub(u).abs().amax().item())) < 1e-6);
    u.dispose();
    once.dispose();
  });

  test("crafting with classShare: within eps, chunks crafted alone match a whole run, and no share keeps the plan", async () => {
    assert.deepEqual(methodSettings(methodOf("targeted"), {}), {}, "plans without it keep an empty extra");
    assert.throws(() => methodSettings(methodOf("targeted"), { classShare: 1 }), /invalid classShare/);
    const s = targetedSource({ classShare: 0.5, classSample: 2 });
    const models = [linearModel(3)];
    const whole = ChunkStore.open(join(s.root, "whole.work"), s.plan);
    const logged: string[] = [];
    const progress = { start: () => ({ update: () => {}, finish: () => {} }), log: (m: string) => logged.push(m) };
    await craftShard(s.train, s.plan, models, whole, { progress });
    assert.deepEqual(logged, ["class-wise perturbations: 10 classes, up to 2 images each, 5 steps, 50% of eps"]);
    const alone = ChunkStore.open(join(s.root, "alone.work"), s.plan);
    await craftShard(s.train, s.plan, models, alone, { shard: { index: 1, count: 3 } });
    assert.deepEqual(alone.done(), [1]);
    assert.deepEqual(alone.load(1).images, whole.load(1).images);

    const plain = targetedSource({});
    const plainStore = ChunkStore.open(join(plain.root, "plain.work"), plain.plan);
    await craftShard(plain.train, plain.plan, models, plainStore);
    let differs = false;
    for (const k of whole.done()) {
      const { indices, images } = whole.load(k);
      const n = images.length / indices.length;
      indices.forEach((i, r) => {
        for (let p = 0; p < n; p++) {
          const d = Math.abs(images[r * n + p]! - s.train.images![i * n + p]!);
          assert.ok(d <= 16, `image ${i} pixel ${p} moved ${d} grey levels`);
        }
      });
      differs ||= images.some((v, j) => v !== plainStore.load(k).images[j]);
    }
    assert.ok(differs, "the class-wise part changes the release");
  });
});
