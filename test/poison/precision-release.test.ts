// Releases crafted in bf16: the manifest and the plan say so, the release respects its budget, and within a
// precision the chunks stay deterministic (shards merged give the bytes of one run).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { bf16Supported } from "../../src/torch/index.js";
import { needs } from "../requirements.js";

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
    needs(existsSync(FMNIST), `Fashion-MNIST (${FMNIST})`) || (!bf16Supported("cpu") && "this CPU has no native bf16"),
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
});
