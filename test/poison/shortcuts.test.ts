// The shortcut baselines on 512 Fashion-MNIST images: LSP's noise alone is linearly separable by class and
// stays in its ball (L-inf eps, or the L2 ball of the same RMS); OPS changes exactly one pixel per image, the
// same position and value within a class, and its search beats other pixels on its objective; both give the
// same bytes in one run as in two shards, and releases that verify accepts under their own budgets.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { buildBatch, type Dataset, loadSplit, Rng, subset } from "../../src/data/index.js";
import {
  ChunkStore,
  type CraftPlan,
  changedPixels,
  channelBit,
  classSums,
  craftShard,
  l2Radius,
  makePlan,
  methodOf,
  methodSettings,
  pixelUnits,
  poisonedIndices,
  searchPixels,
  shortcutScore,
  verifyRelease,
  writeRelease,
} from "../../src/poison/index.js";
import { manualSeed, scope } from "../../src/torch/index.js";
import { needs } from "../requirements.js";

const FMNIST = "/usr/share/datasets/fashion-mnist";
const PIXELS = 28 * 28;
const CLI = join(process.cwd(), "dist/src/cli/main.js");
const cli = (args: string[]) =>
  spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env: { ...process.env, CI: "1" } });

describe("shortcut poisons (LSP, OPS)", { skip: needs(existsSync(FMNIST), `Fashion-MNIST (${FMNIST})`) }, () => {
  let data: Dataset;
  const tmp = mkdtempSync(join(tmpdir(), "advpoison-shortcuts-"));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  before(() => {
    data = subset(loadSplit("fashion-mnist", "train"), 512);
  });

  const planOf = (method: string, settings: Record<string, unknown> = {}, eps = 8): CraftPlan =>
    makePlan(
      {
        method,
        eps,
        chunkSize: 128,
        seed: 4,
        settings,
        dataset: { spec: "fashion-mnist", dataDir: null, subset: data.count },
      },
      data,
      [],
    );

  /** Crafts `plan` (in `shards` shards) and writes its release under `name`; the released training images. */
  async function release(plan: CraftPlan, name: string, shards = 1): Promise<Uint8Array> {
    const stores = [];
    for (let index = 0; index < shards; index++) {
      const store = ChunkStore.open(join(tmp, `${name}.work${index}`), plan);
      await craftShard(data, plan, [], store, { shard: { index, count: shards } });
      stores.push(store);
    }
    writeRelease(data, stores, join(tmp, name));
    return loadSplit(`fashion-mnist:${join(tmp, name)}`, "train").images!;
  }

  /** The released change of every image, in grey levels. */
  const noiseOf = (released: Uint8Array) => Float64Array.from(released, (v, i) => v - data.images![i]!);

  /**
   * A chunked method's perturbation of all images as one chunk, in grey levels, before release: the noise
   * itself (released changes also carry where [0, 255] clipped it, which follows the image).
   */
  function deltaOf(plan: CraftPlan): Float64Array {
    const method = methodOf(plan.recipe);
    if (!method.chunked) throw new Error(`${plan.recipe} is not chunked`);
    manualSeed(1);
    return scope(() => {
      const indices = Int32Array.from({ length: data.count }, (_, i) => i);
      const { x, y } = buildBatch(data, indices);
      const input = { ds: data, plan, models: [], indices, x, y, ...pixelUnits(plan) };
      const { delta } = method.craftChunk(input, methodSettings(method, plan.extra));
      return Float64Array.from(delta.toTypedArray() as Float32Array, (v) => v * 255);
    });
  }

  /**
   * Held-out accuracy of a linear classifier on the noise alone: class means of the first half as weights,
   * argmax_c <x, m_c> - |m_c|^2 / 2 on the second half (nearest class mean).
   */
  function linearAccuracy(noise: Float64Array): number {
    const half = data.count / 2;
    const means = new Float64Array(10 * PIXELS);
    const counts = new Float64Array(10);
    for (let i = 0; i < half; i++) {
      const c = data.labels[i]!;
      counts[c]!++;
      for (let p = 0; p < PIXELS; p++) means[c * PIXELS + p]! += noise[i * PIXELS + p]!;
    }
    for (let c = 0; c < 10; c++) for (let p = 0; p < PIXELS; p++) means[c * PIXELS + p]! /= Math.max(1, counts[c]!);
    let right = 0;
    for (let i = half; i < data.count; i++) {
      let best = -1;
      let bestScore = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < 10; c++) {
        let s = 0;
        for (let p = 0; p < PIXELS; p++) {
          const m = means[c * PIXELS + p]!;
          s += noise[i * PIXELS + p]! * m - (m * m) / 2;
        }
        if (s > bestScore) [best, bestScore] = [c, s];
      }
      if (best === data.labels[i]) right++;
    }
    return right / half;
  }

  test("LSP: the noise alone is linearly separable by class (random noise is not), within eps", async () => {
    const [lspAcc, randomAcc] = [linearAccuracy(deltaOf(planOf("lsp"))), linearAccuracy(deltaOf(planOf("random")))];
    console.log(`held-out accuracy of a linear classifier on the noise: lsp ${lspAcc}, random ${randomAcc}`);
    assert.ok(lspAcc >= 0.98, `LSP noise: ${lspAcc}`);
    assert.ok(randomAcc < 0.3, `random noise: ${randomAcc}`);
    const released = noiseOf(await release(planOf("lsp"), "lsp"));
    const max = released.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assert.equal(max, 8, "released LSP changes are not at the eps bound");
    const verdict = verifyRelease(data, join(tmp, "lsp"), 8);
    assert.ok(verdict.ok, verdict.problems.join("; "));
  });

  test("LSP in the authors' L2 ball: within eps sqrt(784) plus rounding, larger than eps in places", async () => {
    const plan = planOf("lsp", { norm: "l2" });
    const noise = noiseOf(await release(plan, "lsp-l2"));
    const bound = l2Radius(8.5, PIXELS);
    let linf = 0;
    for (let i = 0; i < data.count; i++) {
      let s = 0;
      for (let p = i * PIXELS; p < (i + 1) * PIXELS; p++) {
        s += noise[p]! ** 2;
        linf = Math.max(linf, Math.abs(noise[p]!));
      }
      assert.ok(Math.sqrt(s) <= bound, `image ${i}: L2 ${Math.sqrt(s)} > ${bound}`);
    }
    assert.ok(linf > 8, `L-inf ${linf}: the L2 noise was clipped to eps`);
    assert.ok(linearAccuracy(deltaOf(plan)) >= 0.98, "L2 noise is not separable");
    const verdict = verifyRelease(data, join(tmp, "lsp-l2"), 8);
    assert.ok(verdict.ok, verdict.problems.join("; "));
    assert.ok(!verifyRelease(data, join(tmp, "lsp-l2"), 4).ok, "verify accepted L2 noise of eps 8 as eps 4");
  });

  test("LSP class mode: one pattern per class, the same for every image of the class", () => {
    const delta = deltaOf(planOf("lsp", { mode: "class" }));
    const first = new Map<number, number>();
    for (let i = 0; i < data.count; i++) {
      const c = data.labels[i]!;
      const f = first.get(c);
      if (f === undefined) first.set(c, i);
      else
        for (let p = 0; p < PIXELS; p++)
          assert.equal(delta[i * PIXELS + p], delta[f * PIXELS + p], `class ${c}: images ${f} and ${i} differ at ${p}`);
    }
    assert.equal(first.size, 10);
  });

  test("OPS: one pixel per image, the same position and value within a class; L0 = 1 recorded and verified", async () => {
    const plan = planOf("ops");
    assert.equal(plan.eps, 255, "an L0 plan records eps 255");
    const released = await release(plan, "ops");
    const changed = changedPixels(data.images!, released, PIXELS, 1);
    assert.ok(
      changed.every((n) => n <= 1),
      "an image has more than one changed pixel",
    );
    for (let c = 0; c < 10; c++) {
      const members = Array.from(data.labels.keys()).filter((i) => data.labels[i] === c);
      // The class's pixel, read off the release alone: the position every changed image of the class changed.
      const positions = new Set<number>();
      for (const i of members)
        for (let p = 0; p < PIXELS; p++)
          if (released[i * PIXELS + p] !== data.images![i * PIXELS + p]) positions.add(p);
      assert.equal(positions.size, 1, `class ${c}: changed positions ${[...positions]}`);
      const [p] = positions;
      const values = new Set(members.map((i) => released[i * PIXELS + p!]));
      assert.equal(values.size, 1, `class ${c}: values ${[...values]} at ${p}`);
      assert.ok([0, 255].includes([...values][0]!), `class ${c}: not a boundary value`);
    }
    const verdict = verifyRelease(data, join(tmp, "ops"), 8);
    assert.ok(verdict.ok, verdict.problems.join("; "));
    assert.equal(verdict.checked.maxLinf, 255);
  });

  test("OPS's search maximises its objective: above random pixels, and the score is mean / std", () => {
    const indices = poisonedIndices(data.count, 1, 4);
    const chosen = searchPixels(data, indices);
    const sums = classSums(data, indices);
    const rng = new Rng(9);
    for (let c = 0; c < 10; c++) {
      const best = chosen[c]!;
      const others = Array.from({ length: 200 }, () =>
        shortcutScore(sums[c]!, rng.nextInt(PIXELS), rng.nextInt(2), 1),
      ).sort((a, b) => a - b);
      assert.ok(best.score >= others.at(-1)!, `class ${c}: ${best.score} below a random pixel's ${others.at(-1)}`);
      assert.ok(best.score > others[100]!, `class ${c}: ${best.score} not above the median ${others[100]}`);
    }
    // The objective against a direct float computation of mean / std of |value - x| over a class's images.
    for (const [c, p, v] of [
      [0, 400, 1],
      [3, 100, 0],
      [7, 600, 1],
    ] as const) {
      const d = Array.from(indices)
        .filter((i) => data.labels[i] === c)
        .map((i) => Math.abs(channelBit(v, 0, 1) - data.images![i * PIXELS + p]! / 255));
      const mean = d.reduce((s, x) => s + x, 0) / d.length;
      const std = Math.sqrt(d.reduce((s, x) => s + (x - mean) ** 2, 0) / d.length);
      const score = shortcutScore(sums[c]!, p, v, 1);
      assert.ok(Math.abs(score - mean / std) <= 1e-9 * score, `class ${c}, pixel ${p}: ${score} vs ${mean / std}`);
    }
    // Distinct classes never share a (position, value).
    assert.equal(new Set(chosen.map((x) => `${x!.pixel}/${x!.value}`)).size, 10);
  });

  test("the CLI crafts lsp and ops, verify accepts each under its own budget, bad settings fail", () => {
    const base = ["craft", "--subset", "256", "--chunk-size", "128", "--seed", "2", "--json"];
    const verify = (dir: string) =>
      cli(["verify", "--source", "fashion-mnist", "--subset", "256", "--release", dir, "--eps", "8"]);
    const lsp = join(tmp, "cli-lsp");
    const r1 = cli([...base, "--method", "lsp", "--eps", "8", "--lsp-patch-size", "4", "--out", lsp]);
    assert.equal(r1.status, 0, r1.stderr);
    const v1 = verify(lsp);
    assert.equal(v1.status, 0, v1.stderr);
    assert.match(v1.stdout, /max L-inf 8, eps 8 \(L-inf <= 8 grey levels\)/);
    const ops = join(tmp, "cli-ops");
    const r2 = cli([...base, "--method", "ops", "--out", ops]);
    assert.equal(r2.status, 0, r2.stderr);
    assert.equal(JSON.parse(r2.stdout.trim().split("\n").at(-1)!).max_linf, 255);
    const v2 = verify(ops);
    assert.equal(v2.status, 0, v2.stderr);
    assert.match(v2.stdout, /L0 of 1 pixel/);
    const bad: [string[], RegExp][] = [
      [["--method", "lsp", "--lsp-norm", "l1"], /lsp: invalid norm/],
      [["--method", "ops", "--lsp-patch-size", "4"], /--lsp-patch-size applies to --method lsp only/],
      [["--method", "lsp", "--restarts", "2"], /lsp has no restarts/],
    ];
    for (const [args, message] of bad) {
      const r = cli([...base, ...args, "--out", join(tmp, "cli-bad")]);
      assert.equal(r.status, 1, args.join(" "));
      assert.match(r.stderr, message);
      assert.ok(!existsSync(join(tmp, "cli-bad")), `${args.join(" ")} left output behind`);
    }
  });

  test("LSP and OPS give the same bytes in one run and in two shards", async () => {
    for (const method of ["lsp", "ops"]) {
      const plan = planOf(method);
      const whole = await release(plan, `${method}-whole`);
      const sharded = await release(plan, `${method}-sharded`, 2);
      assert.ok(Buffer.from(whole).equals(Buffer.from(sharded)), `${method}: shards differ from one run`);
    }
  });
});
