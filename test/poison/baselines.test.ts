// The baseline recipes on a few hundred Fashion-MNIST images: error-minimising noise (Huang et al.) makes a
// fresh model's training loss drop faster than on clean data, its min-min model stops at the published 99 %
// on the poisoned set, class-wise noise is one perturbation per class,
// a killed run resumes to the same bytes, TensorClog (Shen et al.) shrinks the parameter gradient, and both
// give releases that verify accepts, through the library and through the CLI.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { buildBatch, type Dataset, loadSplit, subset } from "../../src/data/index.js";
import { createModel } from "../../src/models/index.js";
import type { Module } from "../../src/nn/index.js";
import {
  ChunkStore,
  type CraftPlan,
  craftErrorMin,
  craftShard,
  readManifest,
  shiftPermutation,
  tensorclog,
  verifyRelease,
  writeRelease,
} from "../../src/poison/index.js";
import { F, manualSeed, noGrad, scope } from "../../src/torch/index.js";
import { type Progress, recipe, silentProgress, train } from "../../src/train/index.js";
import { needs } from "../requirements.js";

const FMNIST = "/usr/share/datasets/fashion-mnist";
const CLI = join(process.cwd(), "dist/src/cli/main.js");
const SHAPE = { inChannels: 1, numClasses: 10, imageSize: 28 };
const EM_EXTRA = { model: "smallcnn-bn", trainSteps: 10, maxRounds: 4, stopAcc: 0.99, batchSize: 64 };

function planFor(ds: Dataset, recipeName: CraftPlan["recipe"], o: Partial<CraftPlan>): CraftPlan {
  return {
    recipe: recipeName,
    eps: 8,
    steps: 20,
    stepSize: 0.8,
    init: "uniform",
    restarts: 1,
    augment: null,
    chunkSize: 128,
    budget: 1,
    seed: 3,
    permutation: shiftPermutation(10),
    dataset: { spec: "fashion-mnist", dataDir: null, subset: ds.count, count: ds.count, shape: [28, 28, 1] },
    crafters: [],
    extra: {},
    ...o,
  };
}

/** The released training images of a finished store (without writing a release). */
function releasedImages(ds: Dataset, store: ChunkStore): Uint8Array {
  const size = ds.height * ds.width * ds.channels;
  const images = new Uint8Array(ds.images!);
  for (const k of store.done()) {
    const c = store.load(k);
    c.indices.forEach((i, b) => {
      images.set(c.images.subarray(b * size, (b + 1) * size), i * size);
    });
  }
  return images;
}

/**
 * Final-epoch training loss of a fresh, seeded model after a few plain SGD epochs on `images` (lr 0.01: at 0.1
 * a fresh model's first epochs on 256 images diverge, loss ~6, and measure nothing).
 */
async function freshTrainLoss(ds: Dataset, images: Uint8Array): Promise<number> {
  manualSeed(42);
  const model = createModel("smallcnn-bn", SHAPE);
  const r = recipe("fast", { epochs: 6, batchSize: 64, lr: 0.01, schedule: "constant", cropPadding: 0, flip: false });
  const { history } = await train(model, { ...ds, images }, { recipe: r, seed: 42 });
  model.dispose();
  return history.at(-1)!.trainLoss;
}

/** ||d mean CE / d theta||^2 by a plain backward into .grad (independent of tensorclog's double backward). */
function paramGradNormSq(model: Module, x: Parameters<typeof F.crossEntropy>[0], y: typeof x): number {
  model.requiresGrad_(true);
  try {
    return scope(() => {
      model.zeroGrad();
      F.crossEntropy(model.forward(x), y).backward();
      const n = model.parameters().reduce((s, p) => s + scope(() => p.grad!.pow(2).sum().item()), 0);
      model.zeroGrad();
      return n;
    });
  } finally {
    model.requiresGrad_(false);
  }
}

describe("baseline poisons", {
  skip: needs(existsSync(FMNIST), `Fashion-MNIST (${FMNIST})`),
}, () => {
  let data: Dataset;
  const tmp = mkdtempSync(join(tmpdir(), "advpoison-baselines-"));
  before(() => {
    data = subset(loadSplit("fashion-mnist", "train"), 256);
  });

  test("error-min (sample-wise) noise lowers a fresh model's training loss, within eps, and verifies", async () => {
    const plan = planFor(data, "error-min", { extra: { ...EM_EXTRA, mode: "sample" } });
    const store = ChunkStore.open(join(tmp, "em-sample.work"), plan);
    const stats = await craftErrorMin(data, plan, store);
    assert.equal(stats.imagesCrafted, 256);
    assert.ok(stats.history.length > 0 && stats.history.length <= 4);
    assert.deepEqual(store.done(), [0, 1]);
    const clean = await freshTrainLoss(data, data.images!);
    const poisoned = await freshTrainLoss(data, releasedImages(data, store));
    console.log(
      `error-min sample: rounds ${stats.history.map((h) => `${h.round}: loss ${h.trainLoss.toFixed(3)} acc ${h.accuracy.toFixed(3)}`).join("; ")}; ` +
        `fresh model final-epoch train loss clean ${clean.toFixed(4)}, poisoned ${poisoned.toFixed(4)}`,
    );
    assert.ok(poisoned < 0.95 * clean, `poisoned loss ${poisoned} is not below clean ${clean}`);
    const out = join(tmp, "em-sample");
    const manifest = writeRelease(data, [store], out);
    assert.ok(
      manifest.summary.max_linf <= 8 && manifest.summary.max_linf > 0,
      `max L-inf ${manifest.summary.max_linf}`,
    );
    assert.equal(manifest.summary.attack_success, stats.history.at(-1)!.accuracy);
    const verdict = verifyRelease(data, out, 8);
    assert.ok(verdict.ok, verdict.problems.join("; "));
  });

  test("error-min stops when its min-min model reaches the stop accuracy on the poisoned set", async () => {
    // Huang et al.'s rounds: 10 model steps, then 20 PGD steps of eps/10. Their 99% takes long on 256 images
    // (measured with seed 7: 96.1% after round 3, then 98.4% from round 16 to 20, never 99%), so the test
    // stops at 95%, which round 3 passes in ~10 s.
    const stopAcc = 0.95;
    const plan = planFor(data, "error-min", {
      extra: { ...EM_EXTRA, mode: "sample", maxRounds: 10, stopAcc },
      seed: 7,
    });
    const store = ChunkStore.open(join(tmp, "em-stop.work"), plan);
    const { history } = await craftErrorMin(data, plan, store);
    console.log(
      `error-min to ${stopAcc}: ${history.map((h) => `round ${h.round} acc ${h.accuracy.toFixed(3)}`).join("; ")}`,
    );
    const last = history.at(-1)!;
    assert.ok(last.accuracy > stopAcc, `stopped at ${last.accuracy} after ${history.length} rounds`);
    assert.ok(history.length < 10, "ran out of rounds instead of reaching the stop accuracy");
    assert.ok(
      history.slice(0, -1).every((h) => h.accuracy <= stopAcc),
      "kept going after the stop accuracy was reached",
    );
    // The flags the release records are the stopping model's verdict on x + delta.
    const manifest = writeRelease(data, [store], join(tmp, "em-stop"));
    assert.equal(manifest.summary.attack_success, last.accuracy);
  });

  test("error-min class-wise noise is one perturbation per class wherever [0, 255] did not clip", async () => {
    const plan = planFor(data, "error-min", { extra: { ...EM_EXTRA, mode: "class", maxRounds: 2 } });
    const store = ChunkStore.open(join(tmp, "em-class.work"), plan);
    await craftErrorMin(data, plan, store);
    const released = releasedImages(data, store);
    const size = 28 * 28;
    let compared = 0;
    let nonzero = 0;
    for (let c = 0; c < 10; c++) {
      const members = Array.from(data.labels.keys()).filter((i) => data.labels[i] === c);
      for (let p = 0; p < size; p++) {
        // source s is an integer, so round(s + D) - s = round(D): equal for all unclipped images of the class.
        let seen: number | undefined;
        for (const i of members) {
          const r = released[i * size + p]!;
          if (r === 0 || r === 255) continue;
          const d = r - data.images![i * size + p]!;
          if (seen === undefined) seen = d;
          else {
            assert.equal(d, seen, `class ${c}, pixel ${p}, image ${i}: ${d} vs ${seen}`);
            compared++;
          }
          if (d !== 0) nonzero++;
        }
      }
    }
    assert.ok(compared > 10_000, `only ${compared} pixel pairs compared`);
    assert.ok(nonzero > 10_000, "the class-wise noise is (almost) zero");
    const out = join(tmp, "em-class");
    writeRelease(data, [store], out);
    const verdict = verifyRelease(data, out, 8);
    assert.ok(verdict.ok, verdict.problems.join("; "));
  });

  test("a killed error-min run resumes from its last round to the same bytes", async () => {
    const plan = planFor(data, "error-min", { extra: { ...EM_EXTRA, mode: "sample", maxRounds: 2 }, seed: 5 });
    const whole = ChunkStore.open(join(tmp, "em-whole.work"), plan);
    await craftErrorMin(data, plan, whole);
    const killed = ChunkStore.open(join(tmp, "em-killed.work"), plan);
    // Dies when round 2's noise update starts: round 1 is checkpointed, round 2's training is lost.
    const dying: Progress = {
      ...silentProgress,
      start: (label, total, unit) => {
        if (label.startsWith("error-min round 2/")) throw new Error("killed");
        return silentProgress.start(label, total, unit);
      },
    };
    await assert.rejects(craftErrorMin(data, plan, killed, { progress: dying }), /killed/);
    assert.deepEqual(killed.done(), []);
    assert.ok(readdirSync(killed.dir).includes("error-min-state.safetensors"));
    const stats = await craftErrorMin(data, plan, killed);
    assert.equal(stats.resumedRounds, 1);
    assert.ok(!readdirSync(killed.dir).includes("error-min-state.safetensors"), "checkpoint left behind");
    assert.ok(
      Buffer.from(releasedImages(data, killed)).equals(Buffer.from(releasedImages(data, whole))),
      "resumed noise differs from the uninterrupted run's",
    );
  });

  test("tensorclog shrinks the parameter-gradient norm of its batch and leaves the crafter frozen", async () => {
    manualSeed(0);
    const model = createModel("smallcnn-bn", SHAPE);
    // TensorClog needs a model that has learnt something: against a barely trained one (1 epoch) eps 8 only
    // takes ~15% off the norm, against this one (10 epochs of 256 images) ~80%.
    await train(model, data, { recipe: recipe("fast", { epochs: 10, batchSize: 64 }), seed: 0 });
    model.eval().requiresGrad_(false);
    const batch = buildBatch(
      data,
      Int32Array.from({ length: 64 }, (_, i) => i),
    );
    const eps = 8 / 255;
    const r = tensorclog([model], batch.x, batch.y, {
      eps,
      stepSize: eps / 10,
      steps: 10,
      init: "zero",
      restarts: 1,
      augment: undefined,
      batchSize: 64,
    });
    const clean = paramGradNormSq(model, batch.x, batch.y);
    const adv = scope(() => paramGradNormSq(model, batch.x.add(r.delta), batch.y));
    console.log(
      `tensorclog: ||grad_theta||^2 clean ${clean.toExponential(3)}, poisoned ${adv.toExponential(3)} ` +
        `(objective ${r.initialNorm[0]!.toExponential(3)} -> ${r.finalNorm[0]!.toExponential(3)})`,
    );
    assert.ok(
      Math.abs(r.initialNorm[0]! - clean) <= 1e-3 * clean,
      `objective ${r.initialNorm[0]} vs backward ${clean}`,
    );
    assert.ok(Math.abs(r.finalNorm[0]! - adv) <= 1e-3 * adv, `objective ${r.finalNorm[0]} vs backward ${adv}`);
    assert.ok(adv < 0.5 * clean, `gradient norm ${adv} not well below clean ${clean}`);
    assert.deepEqual([...r.success], new Array(64).fill(1));
    noGrad(() =>
      scope(() => {
        assert.ok(r.delta.abs().amax().item() <= eps + 1e-6, "delta leaves the eps ball");
        const x = batch.x.add(r.delta);
        assert.ok(x.amin().item() >= 0 && x.amax().item() <= 1, "x + delta leaves [0, 1]");
      }),
    );
    for (const p of model.parameters()) {
      assert.equal(p.requiresGrad, false, "crafter parameters left trainable");
      assert.equal(p.grad, undefined, "crafter parameters got a .grad");
    }
    r.delta.dispose();
    batch.dispose();

    // Through the chunked pipeline: two chunks of 128, two gradient batches of 64 each, a verified release.
    const plan = planFor(data, "tensorclog", {
      steps: 5,
      stepSize: 0.8,
      init: "zero",
      extra: { batchSize: 64 },
      crafters: [{ path: "test", model: "smallcnn-bn", sha256: "-" }],
    });
    const store = ChunkStore.open(join(tmp, "tc.work"), plan);
    const stats = await craftShard(data, plan, [model], store);
    assert.equal(stats.chunksDone, 2);
    const out = join(tmp, "tc");
    const manifest = writeRelease(data, [store], out);
    assert.ok(manifest.summary.attack_success > 0.9, `only ${manifest.summary.attack_success} reduced`);
    const verdict = verifyRelease(data, out, 8);
    assert.ok(verdict.ok, verdict.problems.join("; "));
    model.dispose();
  });

  test("the CLI crafts both baselines with their settings in the plan, and verify accepts them", () => {
    const cli = (args: string[]) =>
      spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env: { ...process.env, CI: "1" } });
    const base = ["--subset", "256", "--chunk-size", "128", "--eps", "8", "--seed", "1", "--json"];
    const em = join(tmp, "cli-em");
    const r1 = cli([
      "craft",
      ...base,
      "--recipe",
      "error-min",
      "--em-mode",
      "class",
      "--em-max-rounds",
      "1",
      "--em-train-steps",
      "5",
      "--steps",
      "3",
      "--out",
      em,
    ]);
    assert.equal(r1.status, 0, r1.stderr);
    const tc = join(tmp, "cli-tc");
    const r2 = cli([
      "craft",
      ...base,
      "--recipe",
      "tensorclog",
      "--train-crafter",
      "--crafter-epochs",
      "1",
      "--steps",
      "3",
      "--tc-batch-size",
      "32",
      "--out",
      tc,
    ]);
    assert.equal(r2.status, 0, r2.stderr);
    const emPlan = readManifest(em).plan;
    assert.deepEqual(
      { ...emPlan.extra, init: emPlan.init, steps: emPlan.steps, stepSize: emPlan.stepSize, augment: emPlan.augment },
      {
        model: "smallcnn-bn",
        mode: "class",
        trainSteps: 5,
        maxRounds: 1,
        stopAcc: 0.99,
        batchSize: 128,
        lr: 0.1,
        momentum: 0.9,
        weightDecay: 5e-4,
        init: "uniform",
        steps: 3,
        stepSize: 0.8,
        augment: null,
      },
    );
    assert.deepEqual(emPlan.crafters, []);
    const tcPlan = readManifest(tc).plan;
    assert.deepEqual(
      { extra: tcPlan.extra, init: tcPlan.init, augment: tcPlan.augment, crafters: tcPlan.crafters.length },
      { extra: { batchSize: 32 }, init: "zero", augment: null, crafters: 1 },
    );
    for (const dir of [em, tc]) {
      const v = cli(["verify", "--source", "fashion-mnist", "--subset", "256", "--release", dir, "--eps", "8"]);
      assert.equal(v.status, 0, v.stderr);
    }
    const bad = cli(["craft", ...base, "--recipe", "error-min", "--shard", "0/2", "--out", join(tmp, "bad")]);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /error-min cannot be sharded/);
  });
});
