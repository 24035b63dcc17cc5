// Does `advpoison protect` do what it claims to the crafting model? A crafter trained here for a few steps on the
// tree's own photos (a model with something to lose, not a random one) sees every photo through the evaluation
// pipeline (decode, resize, centre crop). Targeted: its loss to the target class must fall by clearly more than
// random noise of the same eps makes it move; untargeted: its loss to the label must rise by clearly more. The
// random baseline is measured here, on the same photos, with the same crafter: an attack replaced by in-budget
// noise fails both tests.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createModel, saveModel } from "../../src/models/index.js";
import type { Module } from "../../src/nn/index.js";
import { SGD } from "../../src/optim/index.js";
import { decodePhoto, evalResize } from "../../src/protect/index.js";
import { F, manualSeed, noGrad, randint, scope, type Tensor, tensor } from "../../src/torch/index.js";
import { CLI, env } from "./cli.js";
import { LABELLED, makeTree } from "./trees.js";

const SIDE = 32;
const EPS = 8;
const TIMEOUT = 10 * 60_000;

/** The photos as the evaluation pipeline shows them to the model: [N, 3, SIDE, SIDE] in [0, 1]. */
async function pipelineBatch(rgbs: readonly { rgb: Uint8Array; width: number; height: number }[]): Promise<Tensor> {
  const side = SIDE * SIDE * 3;
  const all = new Uint8Array(rgbs.length * side);
  for (const [i, p] of rgbs.entries()) all.set(await evalResize(p.rgb, p.width, p.height, SIDE), i * side);
  return tensor(all, [rgbs.length, SIDE, SIDE, 3]).permute(0, 3, 1, 2).float().div(255);
}

/** The model's cross-entropy of each image to `classes`. */
function losses(model: Module, x: Tensor, classes: readonly number[]): number[] {
  return noGrad(() =>
    scope(() => {
      const y = tensor(BigInt64Array.from(classes, BigInt), [classes.length]);
      return Array.from(F.crossEntropy(model.forward(x), y, { reduction: "none" }).toTypedArray() as Float32Array);
    }),
  );
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe("advpoison protect moves the crafting model as its method intends", () => {
  const tmp = mkdtempSync(join(tmpdir(), "advpoison-protect-efficacy-"));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const src = join(tmp, "photos");
  const crafterFile = join(tmp, "crafter.safetensors");
  const labels = LABELLED.map((s) => (s.rel.startsWith("cat/") ? 0 : 1));
  const targets = labels.map((y) => 1 - y);
  let crafter: Module;
  let clean: { rgb: Uint8Array; width: number; height: number }[];
  /** Each photo with in-budget random noise: every value moved by +-EPS at random (the ball's corners), clipped. */
  let noisy: { rgb: Uint8Array; width: number; height: number }[];

  before(
    async () => {
      await makeTree(src, LABELLED);
      clean = await Promise.all(LABELLED.map(async (s) => decodePhoto(readFileSync(join(src, s.rel)), s.rel)));
      manualSeed(0);
      crafter = createModel("smallcnn", { inChannels: 3, numClasses: 2, imageSize: SIDE });
      // Full-batch SGD on the eight photos until the model tells them apart, short of saturating (a saturated
      // softmax leaves the attack no gradient and the test nothing to measure).
      const x = await pipelineBatch(clean);
      const y = tensor(BigInt64Array.from(labels, BigInt), [labels.length]);
      const opt = new SGD(crafter.parameters(), { lr: 0.05, momentum: 0.9 });
      crafter.train();
      for (let step = 0; step < 200 && mean(losses(crafter, x, labels)) > 0.2; step++) {
        scope(() => {
          const loss = F.crossEntropy(crafter.forward(x), y);
          opt.zeroGrad();
          loss.backward();
          opt.step();
        });
      }
      opt.dispose();
      crafter.eval();
      const trained = losses(crafter, x, labels);
      assert.ok(mean(trained) <= 0.2, `the crafter did not learn the photos: losses ${trained}`);
      x.dispose();
      y.dispose();
      saveModel(crafterFile, crafter, { model: "smallcnn", inChannels: 3, numClasses: 2, imageSize: SIDE });
      manualSeed(1);
      noisy = clean.map((p) => {
        const signs = randint(0, 2, [p.rgb.length]);
        const s = signs.toTypedArray() as BigInt64Array;
        signs.dispose();
        const rgb = Uint8Array.from(p.rgb, (v, i) => Math.min(255, Math.max(0, v + (s[i] ? EPS : -EPS))));
        return { rgb, width: p.width, height: p.height };
      });
    },
    { timeout: TIMEOUT },
  );
  after(() => crafter?.dispose());

  /** Protects the tree with `method`; the mean change of the crafter's loss to `classes` from the clean photos,
   * for the protected photos and for the random noise. */
  async function lossChanges(method: string, classes: readonly number[]) {
    const out = join(tmp, method);
    const args = ["protect", src, "--out", out, "--crafter", crafterFile, "--method", method, "--eps", String(EPS)];
    const r = spawnSync(
      process.execPath,
      [CLI, ...args, "--input-size", String(SIDE), "--steps", "10", "--tau", "0.25"],
      {
        encoding: "utf8",
        env,
      },
    );
    assert.equal(r.status, 0, r.stderr);
    const prot = await Promise.all(LABELLED.map(async (s) => decodePhoto(readFileSync(join(out, s.rel)), s.rel)));
    const batches = await Promise.all([clean, prot, noisy].map(pipelineBatch));
    const [l0, lp, ln] = batches.map((b) => losses(crafter, b, classes)) as [number[], number[], number[]];
    for (const b of batches) b.dispose();
    const attack = mean(lp.map((l, i) => l - l0[i]!));
    const random = mean(ln.map((l, i) => l - l0[i]!));
    return { attack, random, detail: JSON.stringify({ clean: l0, protected: lp, random: ln }) };
  }

  test("targeted: the loss to the target class falls, by clearly more than random noise of the same eps", {
    timeout: TIMEOUT,
  }, async (t) => {
    const { attack, random, detail } = await lossChanges("targeted", targets);
    t.diagnostic(`mean loss change to the target: attack ${attack}, random noise ${random}`);
    assert.ok(attack < 0, `the targeted attack raised the loss to the target by ${attack}: ${detail}`);
    assert.ok(-attack > Math.max(5 * Math.abs(random), 0.1), `attack ${attack} vs random noise ${random}: ${detail}`);
  });

  test("untargeted: the loss to the label rises, by clearly more than random noise of the same eps", {
    timeout: TIMEOUT,
  }, async (t) => {
    const { attack, random, detail } = await lossChanges("untargeted", labels);
    t.diagnostic(`mean loss change to the label: attack ${attack}, random noise ${random}`);
    assert.ok(attack > 0, `the untargeted attack lowered the loss to the label by ${-attack}: ${detail}`);
    assert.ok(attack > Math.max(5 * Math.abs(random), 0.03), `attack ${attack} vs random noise ${random}: ${detail}`);
  });
});
