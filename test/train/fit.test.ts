// One home for training a fresh model: `advpoison train`, the crafting pipeline's crafter and fit() itself make
// the same weights from the same seed, recipe and data. Each used to seed, create and move its model itself;
// a caller that drew a random number between seeding and creating would make another model and fail here.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { loadDataset } from "../../src/data/index.js";
import { loadModel } from "../../src/models/index.js";
import type { Module } from "../../src/nn/index.js";
import { obtainCrafter } from "../../src/poison/index.js";
import { getNumThreads } from "../../src/torch/index.js";
import { fit, recipe, specOf } from "../../src/train/index.js";
import { squareMnist } from "../cli/bad-inputs.js";

const CLI = join(process.cwd(), "dist/src/cli/main.js");
const tmp = mkdtempSync(join(tmpdir(), "advpoison-fit-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

function sameWeights(a: Module, b: Module, what: string): void {
  const sa = a.stateDict();
  const sb = b.stateDict();
  assert.deepEqual([...sa.keys()], [...sb.keys()]);
  for (const [k, t] of sa) assert.ok(t.equal(sb.get(k)!), `${what}: ${k} differs`);
}

test("train, the pipeline's crafter and fit() make the same model from one seed", { timeout: 180_000 }, async () => {
  const data = squareMnist(tmp);
  const { train: trainSet } = loadDataset(`mnist:${data}`);
  const r = recipe("fast", { epochs: 2 });
  const cli = spawnSync(
    process.execPath,
    [CLI, "train", "--dataset", `mnist:${data}`, "--epochs", "2", "--seed", "7", "--out", join(tmp, "run")],
    // The thread count of this process: another count sums in another order and gives other weights.
    { encoding: "utf8", env: { ...process.env, ADVPOISON_THREADS: String(getNumThreads()) } },
  );
  assert.equal(cli.status, 0, cli.stderr);
  const fromCli = loadModel(join(tmp, "run", "model.safetensors")).model;
  const crafter = await obtainCrafter({
    shape: specOf(trainSet),
    model: "smallcnn-bn",
    train: { path: join(tmp, "crafter.safetensors"), data: trainSet, recipe: r, seed: 7 },
  });
  const fitted = await fit("smallcnn-bn", trainSet, { recipe: r, seed: 7 });
  const other = await fit("smallcnn-bn", trainSet, { recipe: r, seed: 8 });
  try {
    sameWeights(fromCli, fitted.model, "train CLI vs fit");
    sameWeights(crafter.models[0]!.model, fitted.model, "pipeline crafter vs fit");
    // And the comparison can tell models apart: another seed is another model.
    assert.throws(() => sameWeights(other.model, fitted.model, "seed 8 vs 7"), /differs/);
  } finally {
    for (const m of [fromCli, crafter.models[0]!.model, fitted.model, other.model]) m.dispose();
  }
});
