// Releases crafted in bf16: the manifest and the plan say so, the release respects its budget, and within a
// precision the chunks stay deterministic (shards merged give the bytes of one run).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createModel, prepareForCrafting } from "../../src/models/index.js";
import { tensorclog } from "../../src/poison/index.js";
import { bf16Supported, manualSeed, rand, randint, secondOrderError } from "../../src/torch/index.js";
import { hardwareHas, needs } from "../requirements.js";

const FMNIST = "/usr/share/datasets/fashion-mnist";
const CLI = join(process.cwd(), "dist/src/cli/main.js");
const BASE = ["--subset", "256", "--chunk-size", "64", "--steps", "3", "--eps", "8", "--seed", "2"];

function cli(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], {
    encoding: "utf8",
    env: { ...process.env, ADVPOISON_THREADS: "1" },
  });
}

const manifestOf = (dir: string) => JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
const images = (dir: string) => readFileSync(join(dir, "train-images-idx3-ubyte.gz"));

describe("bf16 releases", {
  skip:
    needs(existsSync(FMNIST), `Fashion-MNIST (${FMNIST})`) ||
    hardwareHas(bf16Supported("cpu"), "native bf16 (AVX512-BF16 or AMX)"),
}, () => {
  const tmp = mkdtempSync(join(tmpdir(), "advpoison-bf16-"));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const crafter = join(tmp, "crafter", "model.safetensors");
  const craft = (name: string, extra: string[]) =>
    cli(["craft", ...BASE, "--crafter", crafter, "--out", join(tmp, name), ...extra]);

  before(() => {
    const r = cli(["train", "--subset", "256", "--epochs", "1", "--seed", "2", "--out", join(tmp, "crafter")]);
    assert.equal(r.status, 0, r.stderr);
  });

  test("the manifest and the plan record the precision; verify holds the budget", () => {
    for (const p of ["fp32", "bf16"]) assert.equal(craft(p, ["--precision", p]).status, 0);
    const [fp32, bf16] = [manifestOf(join(tmp, "fp32")), manifestOf(join(tmp, "bf16"))];
    assert.equal(fp32.precision, "fp32");
    assert.equal(fp32.plan.precision, undefined, "fp32 plans keep their old shape");
    assert.equal(bf16.precision, "bf16");
    assert.equal(bf16.plan.precision, "bf16");
    assert.notEqual(fp32.plan_digest, bf16.plan_digest, "the precision is part of the plan's identity");
    // Same seeds, other arithmetic: a craft that recorded bf16 but ran in fp32 would give the fp32 bytes.
    assert.ok(!images(join(tmp, "fp32")).equals(images(join(tmp, "bf16"))), "the bf16 release is the fp32 one");
    const v = cli([
      "verify",
      "--source",
      "fashion-mnist",
      "--subset",
      "256",
      "--release",
      join(tmp, "bf16"),
      "--eps",
      "8",
    ]);
    assert.equal(v.status, 0, v.stderr);
  });

  test("shards of a bf16 plan merge into the bytes of one bf16 run", () => {
    for (const i of [0, 1]) assert.equal(craft(`shard${i}`, ["--precision", "bf16", "--shard", `${i}/2`]).status, 0);
    const m = cli(["merge", join(tmp, "shard0"), join(tmp, "shard1"), "--out", join(tmp, "merged")]);
    assert.equal(m.status, 0, m.stderr);
    assert.ok(images(join(tmp, "merged")).equals(images(join(tmp, "bf16"))), "merged bf16 shards differ from one run");
  });

  test("a method without a model has no precision to choose", () => {
    const r = cli(["craft", ...BASE, "--method", "random", "--precision", "bf16", "--out", join(tmp, "random")]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /random runs no model, so it has no precision to choose/);
  });

  test("error-min trains and attacks its own model in bf16: the plan says so, the release keeps its budget", () => {
    const em = ["--method", "error-min", "--em-max-rounds", "1", "--em-train-steps", "2"];
    const runs = ["fp32", "bf16"].map((p) => {
      const r = cli(["craft", ...BASE, ...em, "--precision", p, "--out", join(tmp, `em-${p}`), "--json"]);
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout.trim().split("\n").at(-1)!);
    });
    const [fp32, bf16] = [manifestOf(join(tmp, "em-fp32")), manifestOf(join(tmp, "em-bf16"))];
    assert.equal(fp32.plan.precision, undefined, "fp32 error-min plans keep their old shape (and bytes: golden test)");
    assert.equal(bf16.plan.precision, "bf16");
    assert.ok(runs.every((r) => r.max_linf <= 8));
    // Same seeds, other arithmetic: the noise differs, but a few bf16 roundings cannot change most images' verdict.
    assert.ok(!images(join(tmp, "em-fp32")).equals(images(join(tmp, "em-bf16"))), "bf16 changed nothing");
    assert.ok(Math.abs(runs[0].attack_success - runs[1].attack_success) < 0.25, JSON.stringify(runs));
  });

  test("an experiment in bf16 crafts error-min in bf16 too, and the methods without a model in fp32", () => {
    const out = join(tmp, "experiment");
    const r = cli(
      ["experiment", "methods", "--methods", "random,error-min", "--subset", "128", "--test-subset", "64"].concat([
        "--runs",
        "1",
        "--victim-epochs",
        "1",
        "--em-max-rounds",
        "1",
        "--precision",
        "bf16",
        "--out",
        out,
      ]),
    );
    assert.equal(r.status, 0, r.stderr);
    const plans = Object.fromEntries(
      readdirSync(join(out, "releases")).map((d) => {
        const m = manifestOf(join(out, "releases", d));
        return [m.plan.recipe, m.plan.precision ?? "fp32"];
      }),
    );
    assert.deepEqual(plans, { random: "fp32", "error-min": "bf16" });
  });

  test("tensorclog in bf16: the probe says what the kernels do, and the CLI refuses it in one line before any work", () => {
    // TensorClog differentiates a parameter gradient; libtorch 1.13's CPU bf16 convolutions have no such double
    // backward. The probe's verdict must match what a real TensorClog batch does.
    const why = secondOrderError("bf16", "cpu");
    assert.equal(secondOrderError("fp32", "cpu"), null);
    manualSeed(0);
    const frozen = prepareForCrafting(createModel("smallcnn-bn", { inChannels: 1, numClasses: 10, imageSize: 28 }), {
      precision: "bf16",
    });
    const [x, y] = [rand([8, 1, 28, 28]), randint(0, 10, [8])];
    const o = {
      eps: 8 / 255,
      stepSize: 1 / 255,
      steps: 1,
      init: "zero" as const,
      restarts: 1,
      augment: undefined,
      batchSize: 8,
    };
    if (why) assert.throws(() => tensorclog([frozen], x, y, o), "the probe says bf16 cannot, yet TensorClog ran");
    else tensorclog([frozen], x, y, o).delta.dispose();
    frozen.dispose();

    const tc = ["--method", "tensorclog", "--tc-batch-size", "32", "--json"];
    const out = join(tmp, "tc-bf16");
    const refused = cli(["craft", ...BASE, ...tc, "--crafter", crafter, "--precision", "bf16", "--out", out]);
    if (why) {
      assert.equal(refused.status, 1);
      assert.match(refused.stderr.trim(), /^advpoison: error: tensorclog differentiates .* use --precision fp32$/);
      assert.equal(refused.stderr.trim().split("\n").length, 1, refused.stderr);
      assert.ok(!existsSync(out) && !existsSync(`${out}.work`), "a refused craft left files behind");
    } else assert.equal(refused.status, 0, refused.stderr);
    // "auto" crafts where it can: in bf16 if the kernels allow, else in fp32.
    const auto = cli(["craft", ...BASE, ...tc, "--crafter", crafter, "--precision", "auto", "--out", `${out}-auto`]);
    assert.equal(auto.status, 0, auto.stderr);
    assert.equal(manifestOf(`${out}-auto`).precision, why ? "fp32" : "bf16");
  });
});
