// Our models compute what PyTorch's do from the same weights: PyTorch state dicts (written by
// scripts/fixtures/model_reference.py as safetensors) load with loadStateDict, strict, and reproduce PyTorch's
// eval-mode and train-mode logits and the running statistics a train-mode pass leaves. SmallCNN-BN's file is
// committed (test/fixtures/smallcnn-bn.safetensors); ResNet-18's (45 MB) is written into a temporary directory
// by /usr/bin/python3 with torch when there is one. Also: loadStateDict's errors for mismatched state dicts.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type ResNet, resnet18, SmallCNN } from "../../src/models/index.js";
import type { Module } from "../../src/nn/index.js";
import { loadSafetensors, manualSeed, noGrad, scope, type Tensor, tensor } from "../../src/torch/index.js";
import { needs } from "../requirements.js";

const repo = (path: string): string => fileURLToPath(new URL(`../../../${path}`, import.meta.url));
const PYTHON = "/usr/bin/python3";

/** Float32 logits of the same libtorch on the same weights: anything above this is a real difference. */
const LOGITS_TOLERANCE = 1e-5;

interface Reference {
  state: Map<string, Tensor>;
  ref: Map<string, Tensor>;
}

/** Splits a model_reference.py file into the state dict and the `ref.` tensors (prefix dropped). */
function loadReference(path: string): Reference {
  const { tensors } = loadSafetensors(path);
  const state = new Map<string, Tensor>();
  const ref = new Map<string, Tensor>();
  for (const [k, t] of tensors) {
    if (k.startsWith("ref.")) ref.set(k.slice(4), t);
    else state.set(k, t);
  }
  return { state, ref };
}

function dispose(r: Reference): void {
  for (const t of [...r.state.values(), ...r.ref.values()]) t.dispose();
}

function get(m: ReadonlyMap<string, Tensor>, k: string): Tensor {
  const t = m.get(k);
  assert.ok(t, `missing '${k}'`);
  return t;
}

function maxAbsDiff(a: Tensor, b: Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  const x = a.toArray();
  const y = b.toArray();
  return x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i]!)), 0);
}

interface Parity {
  eval: number;
  train: number;
  buffers: number;
}

/**
 * Loads the reference state (strict), runs the reference input in eval then train mode, and checks logits and
 * the batch-norm buffers after the train-mode pass. Returns the largest differences.
 */
function checkParity(model: Module, r: Reference): Parity {
  model.loadStateDict(r.state);
  const input = get(r.ref, "input");
  return noGrad(() =>
    scope(() => {
      model.eval();
      const evalDiff = maxAbsDiff(model.forward(input), get(r.ref, "logits.eval"));
      assert.ok(evalDiff <= LOGITS_TOLERANCE, `eval-mode logits differ from PyTorch's by ${evalDiff}`);
      model.train();
      const trainDiff = maxAbsDiff(model.forward(input), get(r.ref, "logits.train"));
      assert.ok(trainDiff <= LOGITS_TOLERANCE, `train-mode logits differ from PyTorch's by ${trainDiff}`);

      let buffers = 0;
      let checked = 0;
      for (const [name, t] of model.namedBuffers()) {
        const expected = get(r.ref, `after_train.${name}`);
        if (name.endsWith("num_batches_tracked")) {
          assert.deepEqual(t.toArray(), expected.toArray(), name);
          assert.equal(t.item(), get(r.state, name).item() + 1, `${name} counts the train-mode pass`);
        } else {
          const d = maxAbsDiff(t, expected);
          assert.ok(d <= 1e-6, `${name} after the train-mode pass differs from PyTorch's by ${d}`);
          buffers = Math.max(buffers, d);
        }
        checked++;
      }
      assert.equal(checked, [...r.ref.keys()].filter((k) => k.startsWith("after_train.")).length);
      return { eval: evalDiff, train: trainDiff, buffers };
    }),
  );
}

const smallSpec = { inChannels: 1, numClasses: 10, imageSize: 28 };

describe("SmallCNN-BN against PyTorch (test/fixtures/smallcnn-bn.safetensors)", () => {
  const r = loadReference(repo("test/fixtures/smallcnn-bn.safetensors"));
  after(() => dispose(r));

  test("the fixture is not trivial: trained running stats, distinct eval and train logits", () => {
    assert.deepEqual(get(r.ref, "input").shape, [4, 1, 28, 28]);
    assert.deepEqual(get(r.ref, "logits.eval").shape, [4, 10]);
    assert.equal(get(r.state, "bn1.num_batches_tracked").item(), 3);
    const mean = get(r.state, "bn2.running_mean").abs().amax().item();
    const varDev = get(r.state, "bn2.running_var").sub(1).abs().amax().item();
    assert.ok(mean > 1e-3 && varDev > 1e-3, `running stats still at their initial values (${mean}, ${varDev})`);
    const d = maxAbsDiff(get(r.ref, "logits.eval"), get(r.ref, "logits.train"));
    assert.ok(d > 1e-2, `eval and train logits only ${d} apart`);
  });

  test("loads strictly and reproduces eval/train logits and running stats", (t) => {
    manualSeed(0);
    const model = new SmallCNN({ ...smallSpec, batchNorm: true });
    try {
      // A fresh model computes something else: agreement below comes from the loaded weights.
      const fresh = noGrad(() =>
        scope(() => maxAbsDiff(model.eval().forward(get(r.ref, "input")), get(r.ref, "logits.eval"))),
      );
      assert.ok(fresh > 1e-2, `an unloaded model is already within ${fresh}`);
      const p = checkParity(model, r);
      t.diagnostic(`max |ours - PyTorch|: eval logits ${p.eval}, train logits ${p.train}, BN buffers ${p.buffers}`);
    } finally {
      model.dispose();
    }
  });

  test("the state dict's names are PyTorch's, in order", () => {
    const model = new SmallCNN({ ...smallSpec, batchNorm: true });
    try {
      // safetensors files sort names; the order PyTorch registers them in is conv1, bn1, conv2, bn2, fc1, fc2.
      assert.deepEqual(
        [...model.stateDict().keys()],
        [
          "conv1.weight",
          "bn1.weight",
          "bn1.bias",
          "bn1.running_mean",
          "bn1.running_var",
          "bn1.num_batches_tracked",
          "conv2.weight",
          "bn2.weight",
          "bn2.bias",
          "bn2.running_mean",
          "bn2.running_var",
          "bn2.num_batches_tracked",
          "fc1.weight",
          "fc1.bias",
          "fc2.weight",
          "fc2.bias",
        ],
      );
      assert.deepEqual([...model.stateDict().keys()].sort(), [...r.state.keys()].sort());
    } finally {
      model.dispose();
    }
  });

  test("float64 tensors load into the float32 model, converted", () => {
    const model = new SmallCNN({ ...smallSpec, batchNorm: true });
    const wide = new Map([...r.state].map(([k, t]) => [k, t.dtype === "float32" ? t.to("float64") : t.clone()]));
    try {
      model.loadStateDict(wide);
      assert.equal(model.stateDict().get("fc1.weight")!.dtype, "float32");
      model.eval();
      const d = noGrad(() => scope(() => maxAbsDiff(model.forward(get(r.ref, "input")), get(r.ref, "logits.eval"))));
      assert.ok(d <= LOGITS_TOLERANCE, `logits after a float64 load differ by ${d}`);
    } finally {
      model.dispose();
      for (const t of wide.values()) t.dispose();
    }
  });
});

function pythonTorch(): string | undefined {
  const r = spawnSync(PYTHON, ["-c", "import torch, numpy"], { encoding: "utf8" });
  if (r.error) return `${PYTHON} is not runnable (${r.error.message})`;
  if (r.status !== 0) return `${PYTHON} lacks torch or numpy: ${r.stderr.trim().split("\n").at(-1)}`;
  return undefined;
}

describe("ResNet-18 (kuangliu naming) against PyTorch", () => {
  const missing = pythonTorch();
  test("PyTorch-initialised ResNet-18 loads strictly and reproduces logits", {
    skip: needs(missing === undefined, `python3-torch (${missing})`),
  }, (t) => {
    const dir = mkdtempSync(join(tmpdir(), "advpoison-parity-"));
    const file = join(dir, "resnet18.safetensors");
    let model: ResNet | undefined;
    let r: Reference | undefined;
    try {
      const py = spawnSync(PYTHON, [repo("scripts/fixtures/model_reference.py"), "resnet18", file], {
        encoding: "utf8",
        timeout: 120_000,
      });
      assert.equal(py.status, 0, `model_reference.py failed: ${py.stderr}`);
      r = loadReference(file);
      assert.equal(r.state.size, 122);
      assert.deepEqual(get(r.ref, "input").shape, [2, 3, 32, 32]);
      model = resnet18({ inChannels: 3, numClasses: 10, imageSize: 32 });
      const p = checkParity(model, r);
      t.diagnostic(`max |ours - PyTorch|: eval logits ${p.eval}, train logits ${p.train}, BN buffers ${p.buffers}`);
      const spread = get(r.ref, "logits.eval").std().item();
      assert.ok(spread > 1e-2, `reference logits nearly constant (std ${spread})`);
    } finally {
      model?.dispose();
      if (r) dispose(r);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("loadStateDict errors", () => {
  const r = loadReference(repo("test/fixtures/smallcnn-bn.safetensors"));
  after(() => dispose(r));

  function snapshot(m: Module): Map<string, string> {
    return new Map([...m.stateDict()].map(([k, t]) => [k, Buffer.from(t.toBytes()).toString("base64")]));
  }

  test("missing, unexpected and mis-shaped keys are listed together in one error, and nothing is copied", () => {
    const model = new SmallCNN({ ...smallSpec, batchNorm: true });
    const bad = new Map(r.state);
    bad.delete("bn2.running_var");
    bad.delete("fc2.bias");
    const extra = tensor([1, 2, 3]);
    const wrong = tensor(new Float32Array(128 * 100), [128, 100]);
    const scalar = tensor([0], [1], { dtype: "int64" });
    bad.set("fc3.weight", extra);
    bad.set("fc1.weight", wrong);
    bad.set("bn1.num_batches_tracked", scalar);
    const before = snapshot(model);
    try {
      assert.throws(
        () => model.loadStateDict(bad),
        (e: Error) => {
          assert.equal(
            e.message,
            "loadStateDict: missing keys: bn2.running_var, fc2.bias\n" +
              "  unexpected keys: fc3.weight\n" +
              "  shape mismatches: bn1.num_batches_tracked: checkpoint [1] vs model []; " +
              "fc1.weight: checkpoint [128,100] vs model [128,3136]",
          );
          return true;
        },
      );
      assert.deepEqual(snapshot(model), before, "a failed load changed the model");
    } finally {
      model.dispose();
      for (const t of [extra, wrong, scalar]) t.dispose();
    }
  });

  test("a state dict with extra entries (the fixture's references) is refused under strict", () => {
    const model = new SmallCNN({ ...smallSpec, batchNorm: true });
    const all = new Map([...r.state, ...[...r.ref].map(([k, t]) => [`ref.${k}`, t] as const)]);
    try {
      assert.throws(() => model.loadStateDict(all), /^Error: loadStateDict: unexpected keys: ref\./);
      const message = (() => {
        try {
          model.loadStateDict(all);
        } catch (e) {
          return (e as Error).message;
        }
        return "";
      })();
      for (const k of r.ref.keys()) assert.ok(message.includes(`ref.${k}`), `error does not name ref.${k}`);
      assert.ok(!message.includes("missing"), message);
    } finally {
      model.dispose();
    }
  });

  test("strict: false loads the matching names and ignores missing and unexpected ones, not mis-shaped ones", () => {
    const model = new SmallCNN({ ...smallSpec, batchNorm: true });
    const partial = new Map([...r.state].filter(([k]) => k.startsWith("fc")));
    const extra = tensor([1]);
    partial.set("head.weight", extra);
    const conv1Before = model.stateDict().get("conv1.weight")!.toBytes();
    try {
      model.loadStateDict(partial, { strict: false });
      assert.equal(maxAbsDiff(model.stateDict().get("fc1.weight")!, get(r.state, "fc1.weight")), 0);
      assert.deepEqual(model.stateDict().get("conv1.weight")!.toBytes(), conv1Before);
      const wrong = tensor(new Float32Array(10 * 127), [10, 127]);
      partial.set("fc2.weight", wrong);
      assert.throws(
        () => model.loadStateDict(partial, { strict: false }),
        /^Error: loadStateDict: shape mismatches: fc2\.weight: checkpoint \[10,127\] vs model \[10,128\]$/,
      );
      wrong.dispose();
    } finally {
      model.dispose();
      extra.dispose();
    }
  });

  test("a SmallCNN without batch norm refuses the batch-norm state dict, naming every difference", () => {
    const model = new SmallCNN({ ...smallSpec, batchNorm: false });
    try {
      assert.throws(
        () => model.loadStateDict(r.state),
        (e: Error) => {
          assert.match(e.message, /missing keys: conv1\.bias, conv2\.bias\n/);
          const unexpected = /unexpected keys: ([^\n]*)/.exec(e.message)?.[1]?.split(", ");
          const bnKeys = [...r.state.keys()].filter((k) => k.startsWith("bn"));
          assert.equal(bnKeys.length, 10);
          assert.deepEqual(unexpected?.sort(), bnKeys.sort());
          assert.doesNotMatch(e.message, /shape mismatches/);
          return true;
        },
      );
    } finally {
      model.dispose();
    }
  });
});
