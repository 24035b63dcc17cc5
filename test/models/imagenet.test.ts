// The ImageNet models through the library and the CLI, without python: createModel's defaults and refusals,
// loadModel of a metadata-less (torchvision-style) file, the normalisation constants outside the state dict,
// `advpoison train --model resnet18-imagenet` on a tiny CIFAR-10 fixture and a crafted release from its model.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  createModel,
  IMAGENET_MEAN,
  IMAGENET_STD,
  loadModel,
  modelNames,
  resnet18ImageNet,
} from "../../src/models/index.js";
import { bf16Supported, manualSeed, noGrad, rand, saveSafetensors, scope } from "../../src/torch/index.js";
import { writeCifar10Fixture, writeIdxFixture } from "../data/fixtures.js";
import { hardwareHas } from "../requirements.js";

const CLI = join(process.cwd(), "dist/src/cli/main.js");
const dir = mkdtempSync(join(tmpdir(), "advpoison-imagenet-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env: { ...process.env, CI: "1" } });
}
function ok(args: string[]): Record<string, unknown> {
  const r = cli(args);
  assert.equal(r.status, 0, `advpoison ${args.join(" ")}\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

test("the ImageNet names are in the registry and in `advpoison models`", () => {
  for (const name of ["resnet18-imagenet", "resnet50-imagenet", "mobilenet_v2-imagenet"]) {
    assert.ok(modelNames().includes(name as never), name);
  }
  assert.match(cli(["models"]).stdout, /^resnet18-imagenet\nresnet50-imagenet\nmobilenet_v2-imagenet$/m);
});

test("defaults: 1000 classes; numClasses configurable; mean/std are constants, not state; any input size", () => {
  manualSeed(0);
  const m = resnet18ImageNet();
  const ten = createModel("resnet18-imagenet", { inChannels: 3, numClasses: 10, imageSize: 64 });
  try {
    assert.deepEqual(m.stateDict().get("fc.weight")!.shape, [1000, 512]);
    assert.deepEqual(ten.stateDict().get("fc.weight")!.shape, [10, 512]);
    assert.deepEqual([...IMAGENET_MEAN, ...IMAGENET_STD], [0.485, 0.456, 0.406, 0.229, 0.224, 0.225]);
    // torchvision's names only (the parity tests check them one by one): nothing for the normalisation.
    assert.equal(m.stateDict().size, 122);
    m.eval();
    assert.deepEqual(
      noGrad(() => scope(() => m.forward(rand([1, 3, 40, 56])).shape)),
      [1, 1000],
    );
    assert.deepEqual(
      noGrad(() => scope(() => ten.eval().forward(rand([2, 3, 33, 47])).shape)),
      [2, 10],
    );
  } finally {
    m.dispose();
    ten.dispose();
  }
});

test("loadModel: a file without metadata loads as the architecture named, with ImageNet's shape implied", () => {
  manualSeed(1);
  const m = createModel("mobilenet_v2-imagenet", { inChannels: 3, numClasses: 1000, imageSize: 224 });
  const path = join(dir, "tv.safetensors");
  saveSafetensors(path, m.stateDict(), { format: "pt" });
  try {
    assert.throws(() => loadModel(path), /does not name its architecture; pass --crafter-model NAME/);
    // Another architecture's names do not fit, and the error says which.
    assert.throws(() => loadModel(path, { model: "resnet18-imagenet" }), /does not fit model 'resnet18-imagenet'/);
    const loaded = loadModel(path, { model: "mobilenet_v2-imagenet" });
    assert.deepEqual(loaded.info, { model: "mobilenet_v2-imagenet", inChannels: 3, numClasses: 1000, imageSize: 224 });
    loaded.model.dispose();
    // A CIFAR architecture implies nothing: its shape must still be given.
    const c = createModel("resnet18", { inChannels: 3, numClasses: 10, imageSize: 32 });
    const cifar = join(dir, "cifar.safetensors");
    saveSafetensors(cifar, c.stateDict());
    c.dispose();
    assert.throws(() => loadModel(cifar, { model: "resnet18" }), /no in_channels in the file's metadata/);
  } finally {
    m.dispose();
  }
});

test("advpoison train --model resnet18-imagenet, then craft with it (fp32 and bf16)", () => {
  const data = join(dir, "c10");
  writeCifar10Fixture(data, 2, 8);
  const run = join(dir, "run");
  const trained = ok(
    ["train", "--dataset", `cifar10:${data}`, "--model", "resnet18-imagenet", "--epochs", "1"].concat([
      "--out",
      run,
      "--json",
    ]),
  );
  assert.equal(trained.checkpoint, join(run, "model.safetensors"));
  const record = JSON.parse(readFileSync(join(run, "run.json"), "utf8")) as { model: string };
  assert.equal(record.model, "resnet18-imagenet");
  const loaded = loadModel(join(run, "model.safetensors"));
  assert.deepEqual(loaded.info, { model: "resnet18-imagenet", inChannels: 3, numClasses: 10, imageSize: 32 });
  assert.equal(loaded.metadata.advpoison_model, "resnet18-imagenet");
  loaded.model.dispose();
  // bf16 needs native support (elsewhere --precision bf16 is an error by design).
  const bf16 = hardwareHas(bf16Supported("cpu"), "native bf16 (AVX512-BF16 or AMX): bf16 crafting untested") === false;
  for (const precision of bf16 ? ["fp32", "bf16"] : ["fp32"]) {
    const out = join(dir, `release-${precision}`);
    const crafted = ok(
      ["craft", "--dataset", `cifar10:${data}`, "--crafter", join(run, "model.safetensors")].concat([
        "--steps",
        "2",
        "--eps",
        "8",
        "--precision",
        precision,
        "--out",
        out,
        "--json",
      ]),
    );
    assert.equal(crafted.poisoned, 16);
    assert.equal(crafted.max_linf, 8);
  }
  // A grey dataset is refused with the reason.
  const mnist = join(dir, "mnist");
  writeIdxFixture(mnist, false);
  const grey = cli(["train", "--dataset", `mnist:${mnist}`, "--model", "resnet18-imagenet", "--out", join(dir, "g")]);
  assert.notEqual(grey.status, 0);
  assert.match(
    grey.stderr,
    /resnet18-imagenet takes RGB images \(3 channels, normalised with ImageNet's mean and std\), not 1/,
  );
});
