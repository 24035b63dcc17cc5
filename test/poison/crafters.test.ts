// loadCrafters, the one place a job's crafting models are loaded: the recorded sha256 is checked, the models come
// back frozen in the asked precision, and a refused file leaves nothing loaded behind.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { createModel, saveModel } from "../../src/models/index.js";
import { loadCrafters } from "../../src/poison/index.js";
import { manualSeed } from "../../src/torch/index.js";

const dir = mkdtempSync(join(tmpdir(), "advpoison-crafters-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const spec = { model: "smallcnn", inChannels: 1, numClasses: 3, imageSize: 8 };

function modelFile(name: string, seed: number): { path: string; sha256: string } {
  manualSeed(seed);
  const m = createModel(spec.model, spec);
  const path = join(dir, name);
  saveModel(path, m, spec);
  m.dispose();
  return { path, sha256: createHash("sha256").update(readFileSync(path)).digest("hex") };
}

test("loadCrafters checks each file's recorded sha256 and returns the frozen models in order", {
  timeout: 60_000,
}, () => {
  const a = modelFile("a.safetensors", 1);
  const b = modelFile("b.safetensors", 2);
  const frozen = loadCrafters([a, { path: b.path }], {}, { precision: "fp32", device: "cpu" });
  try {
    assert.deepEqual(
      frozen.map((c) => [c.info.model, c.sha256]),
      [
        ["smallcnn", a.sha256],
        ["smallcnn", b.sha256],
      ],
    );
    for (const c of frozen)
      assert.ok(
        c.model.parameters().every((p) => !p.requiresGrad),
        "not frozen",
      );
  } finally {
    for (const c of frozen) c.model.dispose();
  }
  assert.throws(
    () => loadCrafters([a, { ...b, sha256: a.sha256 }], {}, { precision: "fp32", device: "cpu" }),
    new RegExp(`b\\.safetensors: sha256 ${b.sha256}, the plan's crafting model is ${a.sha256}`),
  );
});
