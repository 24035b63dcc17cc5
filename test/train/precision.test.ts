// Training and evaluation in bf16: the forward passes run under autocast while parameters stay fp32, the loss
// curve differs from fp32 but not by much; a bf16 checkpoint does not resume in fp32; and on the command line
// --precision is recorded in run.json and in the JSON results of train and evaluate, and refused when unknown.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { createModel } from "../../src/models/index.js";
import { bf16Supported, manualSeed } from "../../src/torch/index.js";
import { recipe, train } from "../../src/train/index.js";
import { hardwareHas, needs } from "../requirements.js";
import { syntheticDataset } from "./synthetic.js";

const FMNIST = "/usr/share/datasets/fashion-mnist";
const CLI = join(process.cwd(), "dist/src/cli/main.js");
const SMALL = ["--subset", "64", "--epochs", "1", "--batch-size", "32"];
const noBf16 = hardwareHas(bf16Supported(undefined), "native bf16 (AVX512-BF16 or AMX)");

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "advpoison-precision-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe("bf16 training", { skip: noBf16 }, () => {
  const data = syntheticDataset(128, 1);
  const r = recipe("fast", { epochs: 1, batchSize: 32 });
  const run = async (precision: "fp32" | "bf16", checkpoint?: string) => {
    manualSeed(0);
    const model = createModel("smallcnn", { inChannels: 1, numClasses: 4, imageSize: 28 });
    const result = await train(model, data, { recipe: r, seed: 0, precision, ...(checkpoint ? { checkpoint } : {}) });
    return { model, loss: result.history[0]!.trainLoss };
  };

  test("keeps fp32 parameters and a loss near fp32's, but not equal to it", async () => {
    const fp32 = await run("fp32");
    const bf16 = await run("bf16");
    assert.ok(bf16.model.parameters().every((p) => p.dtype === "float32"));
    assert.notEqual(bf16.loss, fp32.loss, "bf16 training computed exactly what fp32 did: autocast did not run");
    assert.ok(Math.abs(bf16.loss - fp32.loss) < 0.05 * fp32.loss, `loss ${bf16.loss} vs fp32 ${fp32.loss}`);
  });

  test("a bf16 checkpoint does not resume in fp32", async () => {
    const checkpoint = join(tempDir(), "checkpoint.safetensors");
    await run("bf16", checkpoint);
    const model = createModel("smallcnn", { inChannels: 1, numClasses: 4, imageSize: 28 });
    await assert.rejects(
      train(model, data, { recipe: r, seed: 0, precision: "fp32", checkpoint, resume: true }),
      /trained in bf16, not fp32/,
    );
  });
});

describe("--precision on the command line", { skip: needs(existsSync(FMNIST), `Fashion-MNIST (${FMNIST})`) }, () => {
  const cli = (args: string[]) =>
    spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env: { ...process.env, ADVPOISON_THREADS: "1" } });
  const lastJson = (stdout: string) => JSON.parse(stdout.trim().split("\n").pop()!) as Record<string, unknown>;

  test("train and evaluate record the precision they ran in", { skip: noBf16 }, () => {
    const out = join(tempDir(), "run");
    const t = cli(["train", ...SMALL, "--precision", "bf16", "--out", out, "--json"]);
    assert.equal(t.status, 0, t.stderr);
    assert.equal(lastJson(t.stdout).precision, "bf16");
    assert.equal(JSON.parse(readFileSync(join(out, "run.json"), "utf-8")).precision, "bf16");
    const e = cli(["evaluate", "--checkpoint", join(out, "model.safetensors"), "--precision", "auto", "--json"]);
    assert.equal(e.status, 0, e.stderr);
    assert.equal(lastJson(e.stdout).precision, "bf16");
  });

  test("fp32 is the default, and an unknown precision is one clear error", () => {
    const out = join(tempDir(), "run");
    const bad = cli(["train", ...SMALL, "--precision", "fp16", "--out", out]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /--precision <p>' argument 'fp16' is invalid. Allowed choices are fp32, bf16, auto/);
    assert.equal(existsSync(out), false);
    const t = cli(["train", ...SMALL, "--out", out, "--json"]);
    assert.equal(t.status, 0, t.stderr);
    assert.equal(JSON.parse(readFileSync(join(out, "run.json"), "utf-8")).precision, "fp32");
  });
});
