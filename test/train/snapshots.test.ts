// `train --snapshots`: the model after chosen epochs, beside the final one, for a checkpoint ensemble (Chen et
// al. 2023, Self-Ensemble Protection): each snapshot is the run's own model at that epoch, and a resumed run has
// the snapshots of the epochs it restored.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { squareMnist } from "../cli/bad-inputs.js";

const CLI = join(process.cwd(), "dist/src/cli/main.js");
const tmp = mkdtempSync(join(tmpdir(), "advpoison-snapshots-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const run = (args: string[]) =>
  spawnSync(process.execPath, [CLI, ...args], {
    encoding: "utf8",
    env: { ...process.env, ADVPOISON_THREADS: "1" },
  });

test("train --snapshots keeps the model after each chosen epoch; an ensemble of them crafts", {
  timeout: 240_000,
}, () => {
  const data = squareMnist(tmp);
  const out = join(tmp, "run");
  const trained = run(["train", "--dataset", `mnist:${data}`, "--epochs", "3", "--snapshots", "1,3", "--out", out]);
  assert.equal(trained.status, 0, trained.stderr);
  const final = readFileSync(join(out, "model.safetensors"));
  assert.ok(!existsSync(join(out, "model-epoch-2.safetensors")), "epoch 2 was not asked for");
  // The last epoch's snapshot is the final model (the same weights, another epoch tag); epoch 1's is not.
  const weights = (b: Buffer) => b.subarray(8 + Number(b.readBigUInt64LE(0)));
  assert.ok(weights(readFileSync(join(out, "model-epoch-3.safetensors"))).equals(weights(final)));
  assert.ok(!weights(readFileSync(join(out, "model-epoch-1.safetensors"))).equals(weights(final)));

  const release = join(tmp, "release");
  const crafted = run(
    ["craft", "--dataset", `mnist:${data}`, "--method", "targeted", "--steps", "2", "--out", release].concat(
      "--crafter",
      join(out, "model-epoch-1.safetensors"),
      "--crafter",
      join(out, "model.safetensors"),
    ),
  );
  assert.equal(crafted.status, 0, crafted.stderr);
  const manifest = JSON.parse(readFileSync(join(release, "manifest.json"), "utf8"));
  assert.equal(manifest.plan.crafters.length, 2);
});
