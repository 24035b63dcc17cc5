// The ImageNet models compute what torchvision's do from torchvision's own state dicts: each is written, as
// torchvision names it, by scripts/fixtures/torchvision_models.py (/usr/bin/python3 with python3-torchvision) into
// a temporary directory with a seeded [0, 1] input batch and torchvision's logits on the normalised batch; ours
// must load the file as it is (loadModel with only the architecture named) and match the logits within 1e-4 on
// a 224x224 and a non-square batch (ResNet-50: one small batch, to keep the test fast). Planted bugs (the
// normalisation left out, two batch norms swapped) must fail the same comparison, and the frozen crafting copy
// (batch norms folded, bf16) must stay close.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { IMAGENET_SPEC, loadModel, MobileNetV2ImageNet, prepareForCrafting } from "../../src/models/index.js";
import type { Module } from "../../src/nn/index.js";
import { loadSafetensors, noGrad, scope, type Tensor } from "../../src/torch/index.js";
import { needs, pythonLacks, SYSTEM_PYTHON } from "../requirements.js";

const repo = (path: string): string => fileURLToPath(new URL(`../../../${path}`, import.meta.url));

/** Max |ours - torchvision| allowed on the logits (the same float32 ops in other orders agree to ~1e-6). */
const TOLERANCE = 1e-4;

/** What torchvision_models.py writes for each model: the sizes of its reference batches. */
const SIZES: Record<string, string[]> = {
  "resnet18-imagenet": ["224x224", "160x96"],
  "mobilenet_v2-imagenet": ["224x224", "160x96"],
  "resnet50-imagenet": ["96x80"],
};

const missing = pythonLacks("torch", "torchvision", "numpy");

function maxAbsDiff(a: Tensor, b: Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  return noGrad(() => scope(() => a.sub(b).abs().amax().item()));
}

describe("ImageNet models against torchvision", {
  skip: needs(missing === undefined, `python3-torchvision (${missing})`),
}, () => {
  let dir = "";
  const refs = new Map<string, Map<string, Tensor>>();

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "advpoison-torchvision-"));
    const args = Object.entries(SIZES).map(([name, sizes]) => `${name}:${sizes.join(",")}`);
    const py = spawnSync(SYSTEM_PYTHON, [repo("scripts/fixtures/torchvision_models.py"), dir, ...args], {
      encoding: "utf8",
      timeout: 120_000,
      env: { ...process.env, OMP_NUM_THREADS: "1" },
    });
    assert.equal(py.status, 0, `torchvision_models.py failed: ${py.stderr}`);
    for (const name of Object.keys(SIZES))
      refs.set(name, loadSafetensors(join(dir, `${name}.reference.safetensors`)).tensors);
  });
  after(() => {
    for (const r of refs.values()) for (const t of r.values()) t.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const weights = (name: string): string => join(dir, `${name}.safetensors`);
  const ref = (name: string, key: string): Tensor => {
    const t = refs.get(name)?.get(key);
    assert.ok(t, `no ${key} for ${name}`);
    return t;
  };
  /** The largest logit difference to torchvision over the model's reference batches, each one diagnosed. */
  const worstDiff = (model: Module, name: string, log?: (m: string) => void): number =>
    Math.max(
      ...SIZES[name]!.map((size) => {
        const d = noGrad(() =>
          scope(() => maxAbsDiff(model.forward(ref(name, `input.${size}`)), ref(name, `logits.${size}`))),
        );
        log?.(`${name} ${size}: max |ours - torchvision| = ${d}`);
        return d;
      }),
    );

  for (const name of Object.keys(SIZES)) {
    test(`${name}: torchvision's state dict loads as it is; logits match at ${SIZES[name]!.join(" and ")}`, (t) => {
      const loaded = loadModel(weights(name), { model: name });
      try {
        // The file names no shape: ImageNet's is implied (RGB, 1000 classes).
        assert.deepEqual(loaded.info, { model: name, inChannels: 3, numClasses: 1000, imageSize: 224 });
        assert.deepEqual(loaded.metadata, { format: "pt" });
        loaded.model.eval();
        const worst = worstDiff(loaded.model, name, (m) => t.diagnostic(m));
        assert.ok(worst <= TOLERANCE, `${name}: logits differ from torchvision's by ${worst}`);
        // The reference is not trivially matched: its logits are spread well beyond the tolerance.
        const logits = ref(name, `logits.${SIZES[name]![0]}`);
        const spread = noGrad(() => scope(() => logits.amax().sub(logits.amin()).item()));
        assert.ok(spread > 1, `${name}: reference logits span only ${spread}`);
      } finally {
        loaded.model.dispose();
      }
    });
  }

  test("a state dict without num_batches_tracked (torchvision's own .pth files) loads with the counters at 0", () => {
    const { tensors } = loadSafetensors(weights("resnet18-imagenet"));
    const loaded = loadModel(weights("resnet18-imagenet"), { model: "resnet18-imagenet" });
    try {
      const counters = [...tensors.keys()].filter((k) => k.endsWith(".num_batches_tracked"));
      assert.equal(counters.length, 20);
      assert.equal(tensors.get("bn1.num_batches_tracked")!.item(), 1, "the fixture's counter is not 0");
      for (const k of counters) tensors.get(k)!.dispose();
      const without = new Map([...tensors].filter(([k]) => !k.endsWith(".num_batches_tracked")));
      const model = loaded.model;
      model.loadStateDict(without);
      const state = model.stateDict();
      for (const k of counters) assert.equal(state.get(k)!.item(), 0, k);
      model.eval();
      assert.ok(worstDiff(model, "resnet18-imagenet") <= TOLERANCE);
      // Any other missing buffer is still an error.
      without.delete("layer1.0.bn1.running_var");
      assert.throws(
        () => model.loadStateDict(without),
        /^Error: loadStateDict: missing keys: layer1\.0\.bn1\.running_var$/,
      );
    } finally {
      loaded.model.dispose();
      for (const t of tensors.values()) t.dispose();
    }
  });

  test("planted bugs fail the comparison: normalisation left out, two batch norms swapped", (t) => {
    // MobileNetV2 that feeds the raw pixels to its first conv.
    class Unnormalised extends MobileNetV2ImageNet {
      protected override normalize(x: Tensor): Tensor {
        return x;
      }
    }
    const { tensors } = loadSafetensors(weights("mobilenet_v2-imagenet"));
    const unnormalised = new Unnormalised(IMAGENET_SPEC);
    try {
      unnormalised.loadStateDict(tensors);
      unnormalised.eval();
      const d = worstDiff(unnormalised, "mobilenet_v2-imagenet");
      t.diagnostic(`mobilenet_v2-imagenet without normalisation: ${d}`);
      assert.ok(d > 100 * TOLERANCE, `leaving the normalisation out changed the logits by ${d} only`);
    } finally {
      unnormalised.dispose();
      for (const x of tensors.values()) x.dispose();
    }

    // ResNet-18 whose first block applies its batch norms in the other order (same shapes, so it loads).
    const resnet = loadModel(weights("resnet18-imagenet"), { model: "resnet18-imagenet" }).model.eval();
    try {
      const state = resnet.stateDict();
      noGrad(() =>
        scope(() => {
          for (const p of ["weight", "bias", "running_mean", "running_var"]) {
            const a = state.get(`layer1.0.bn1.${p}`)!;
            const b = state.get(`layer1.0.bn2.${p}`)!;
            const saved = a.clone();
            a.copy_(b);
            b.copy_(saved);
          }
        }),
      );
      const d = worstDiff(resnet, "resnet18-imagenet");
      t.diagnostic(`resnet18-imagenet with layer1.0's batch norms swapped: ${d}`);
      assert.ok(d > 100 * TOLERANCE, `swapping two batch norms changed the logits by ${d} only`);
    } finally {
      resnet.dispose();
    }
  });

  test("the crafting copy: batch norms folded (downsample pairs too) in fp32 and bf16, channels-last", (t) => {
    const name = "resnet18-imagenet";
    const loaded = loadModel(weights(name), { model: name });
    const model = loaded.model.eval();
    try {
      const folded = prepareForCrafting(model, { precision: "fp32", foldBatchNorm: true });
      assert.equal(folded.folded, 20, "conv1/bn1, 16 in the blocks, 3 downsample pairs");
      const d = worstDiff(folded, name);
      t.diagnostic(`fp32, batch norms folded: max |copy - torchvision| = ${d}`);
      assert.ok(d <= 10 * TOLERANCE, `the folded copy is off by ${d}`);
      folded.dispose();

      const low = prepareForCrafting(model, { precision: "bf16" });
      assert.equal(low.folded, 20);
      assert.ok(
        low
          .parameters()
          .filter((p) => p.ndim === 4)
          .every((p) => p.isContiguous("channels_last")),
      );
      const size = SIZES[name]![1]!;
      const logits = noGrad(() => low.forward(ref(name, `input.${size}`)));
      try {
        assert.equal(logits.dtype, "float32");
        const dLow = maxAbsDiff(logits, ref(name, `logits.${size}`));
        t.diagnostic(`bf16 copy at ${size}: max |copy - torchvision| = ${dLow}`);
        assert.ok(dLow < 0.5, `the bf16 copy is off by ${dLow}`);
      } finally {
        logits.dispose();
        low.dispose();
      }
    } finally {
      model.dispose();
    }
  });
});
