// `advpoison experiment` end to end on a micro config of the real Fashion-MNIST (256 images, 1 PGD step,
// 1 epoch): the result files and the JSON line, then resumability: a second run trains and crafts nothing
// (counters, unchanged unit records and file mtimes), and a unit missing from results.json is redone alone.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { needs } from "../requirements.js";

const FMNIST = "/usr/share/datasets/fashion-mnist";
const CLI = join(process.cwd(), "dist/src/cli/main.js");
const MICRO = [
  "--subset",
  "256",
  "--test-subset",
  "256",
  "--runs",
  "1",
  "--steps",
  "1",
  "--victim-epochs",
  "1",
  "--crafter-epochs",
  "1",
  "--crafter-subset",
  "512",
  "--chunk-size",
  "128",
];
const METHODS_MICRO = [...MICRO, "--em-steps", "1", "--em-train-steps", "1", "--em-max-rounds", "1", "--tc-steps", "1"];

function cli(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env: { ...process.env, CI: "1" } });
}

function lastJson(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout.trim().split("\n").pop()!);
}

interface Results {
  scale: string;
  units: Record<string, { kind: string; finished: string; condition?: string }>;
  summary: { condition: string; runs: number; test_acc_mean: number | null; skipped: string | null }[];
}

const readResults = (dir: string) => JSON.parse(readFileSync(join(dir, "results.json"), "utf-8")) as Results;

/** mtimes of the releases' manifests and the crafting models: rewritten files would change them. */
function mtimes(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of readdirSync(join(dir, "releases")))
    out[r] = statSync(join(dir, "releases", r, "manifest.json")).mtimeMs;
  for (const c of readdirSync(join(dir, "crafters"))) out[c] = statSync(join(dir, "crafters", c)).mtimeMs;
  return out;
}

describe("advpoison experiment", { skip: needs(existsSync(FMNIST), `Fashion-MNIST (${FMNIST})`) }, () => {
  const tmp = mkdtempSync(join(tmpdir(), "advpoison-experiment-"));
  const methodsDir = join(tmp, "methods");
  let first: Record<string, unknown>;
  let firstStdout = "";

  before(() => {
    const r = cli(["experiment", "methods", ...METHODS_MICRO, "--out", methodsDir, "--json"]);
    assert.equal(r.status, 0, r.stderr);
    first = lastJson(r.stdout);
    firstStdout = r.stdout;
  });

  test("methods: results.json, results.csv, summary.csv, report.html and the JSON line", () => {
    assert.equal(first.results, join(methodsDir, "results.json"));
    assert.equal(first.report, join(methodsDir, "report.html"));
    for (const key of ["results", "csv", "summary_csv", "report"]) assert.ok(existsSync(first[key] as string), key);
    assert.deepEqual(
      [first.victims_trained, first.victims_reused, first.releases_crafted, first.crafters_trained],
      [8, 0, 7, 1],
    );
    const rows = first.rows as { condition: string; test_acc_mean: number }[];
    assert.deepEqual(
      rows.map((r) => r.condition),
      ["clean", "random", "error-min", "tensorclog", "lsp", "ops", "untargeted", "targeted"],
    );
    for (const r of rows) assert.ok(r.test_acc_mean >= 0 && r.test_acc_mean <= 1);

    const results = readResults(methodsDir);
    const kinds = Object.values(results.units).map((u) => u.kind);
    assert.deepEqual(
      ["crafter", "release", "victim"].map((k) => kinds.filter((x) => x === k).length),
      [1, 7, 8],
    );
    assert.equal(results.scale, "scaled-down + overrides");
    const csv = readFileSync(join(methodsDir, "results.csv"), "utf-8").trim().split("\n");
    assert.equal(csv.length, 9);
    assert.match(csv[0]!, /^experiment,condition,method,eps,steps,run,seed,model,epochs,/);
    assert.equal(readFileSync(join(methodsDir, "summary.csv"), "utf-8").trim().split("\n").length, 9);
    const html = readFileSync(join(methodsDir, "report.html"), "utf-8");
    for (const s of [
      "Scaled down to finish on 2 CPU cores",
      "clean test accuracy",
      "tensorclog",
      "<svg",
      "data:image/png",
    ])
      assert.ok(html.includes(s), `report.html lacks ${s}`);
    assert.match(firstStdout, /method\s+eps\s+steps\s+clean test accuracy/);
    assert.match(firstStdout, /^targeted\s+16\/255\s+1\s+[\d.]+%/m);
    assert.match(firstStdout, /^ops\s+L0 = 1 pixel\s+–\s+[\d.]+%/m);
  });

  test("a second run trains and crafts nothing: every unit is reused", () => {
    const before = readResults(methodsDir);
    const times = mtimes(methodsDir);
    const r = cli(["experiment", "methods", ...METHODS_MICRO, "--out", methodsDir, "--json"]);
    assert.equal(r.status, 0, r.stderr);
    const again = lastJson(r.stdout);
    assert.deepEqual(
      [
        again.victims_trained,
        again.victims_reused,
        again.releases_crafted,
        again.releases_reused,
        again.crafters_trained,
      ],
      [0, 8, 0, 7, 0],
    );
    assert.doesNotMatch(r.stderr, /epoch 1\/1|crafting targeted/);
    assert.deepEqual(readResults(methodsDir).units, before.units, "recorded units changed");
    assert.deepEqual(mtimes(methodsDir), times, "a release or crafting model was rewritten");
    assert.deepEqual(again.rows, first.rows);
  });

  test("a unit missing from results.json (a run killed before it finished) is the only one redone", () => {
    const path = join(methodsDir, "results.json");
    const results = readResults(methodsDir);
    const key = Object.keys(results.units).find((k) => k.startsWith("victim/targeted/"))!;
    delete results.units[key];
    writeFileSync(path, JSON.stringify(results));
    const r = cli(["experiment", "methods", ...METHODS_MICRO, "--out", methodsDir, "--json"]);
    assert.equal(r.status, 0, r.stderr);
    const j = lastJson(r.stdout);
    assert.deepEqual([j.victims_trained, j.victims_reused, j.releases_crafted], [1, 7, 0]);
    assert.ok(readResults(methodsDir).units[key], "the victim was not recorded again");
  });

  test("labels and defenses run end to end; grayscale on grey images is skipped with the reason", () => {
    const labelsDir = join(tmp, "labels");
    const sweep = ["--set", "sweepEps=[16,32]", "--set", "sweepSteps=[1]"];
    const l = cli(["experiment", "labels", ...MICRO, ...sweep, "--out", labelsDir, "--json"]);
    assert.equal(l.status, 0, l.stderr);
    const rows = lastJson(l.stdout).rows as { condition: string; attack_success: number | null }[];
    const labellings = ["release-y", "release-pi", "release-predicted"];
    assert.deepEqual(
      rows.map((r) => r.condition),
      ["clean", ...labellings.map((c) => `eps16-steps1/${c}`), ...labellings.map((c) => `eps32-steps1/${c}`)],
    );
    for (const r of rows.slice(1)) assert.ok(r.attack_success !== null, `${r.condition}: no attack success recorded`);
    // Without a sweep the conditions keep the ids they always had.
    const plain = cli([
      "experiment",
      "labels",
      ...MICRO,
      "--set",
      "sweepEps=[]",
      "--set",
      "sweepSteps=[]",
      "--out",
      join(tmp, "labels-plain"),
      "--json",
    ]);
    assert.equal(plain.status, 0, plain.stderr);
    assert.deepEqual(
      (lastJson(plain.stdout).rows as { condition: string }[]).map((r) => r.condition),
      ["clean", ...labellings],
    );
    const defDir = join(tmp, "defenses");
    const d = cli([
      "experiment",
      "defenses",
      ...MICRO,
      "--defenses",
      "none,grayscale,cutmix,jpeg10,bdr",
      "--out",
      defDir,
      "--json",
    ]);
    assert.equal(d.status, 0, d.stderr);
    const summary = readResults(defDir).summary;
    assert.deepEqual(
      summary.map((s) => [s.condition, s.runs]),
      [
        ["clean", 1],
        ["defense-none", 1],
        ["defense-grayscale", 0],
        ["defense-cutmix", 1],
        ["defense-jpeg10", 1],
        ["defense-bdr", 1],
      ],
    );
    assert.match(summary[2]!.skipped ?? "", /one channel/);
    assert.match(readFileSync(join(defDir, "report.html"), "utf-8"), /grayscale: skipped/);
  });

  test("train --defense NAME trains with the defence table's transform and records it in run.json", () => {
    const out = join(tmp, "train-bdr");
    const base = ["train", "--subset", "128", "--epochs", "1", "--batch-size", "64", "--json"];
    const r = cli([...base, "--defense", "bdr", "--out", out]);
    assert.equal(r.status, 0, r.stderr);
    const record = JSON.parse(readFileSync(join(out, "run.json"), "utf-8"));
    assert.deepEqual(record.defense, { name: "bdr", settings: { bits: 2 } });
    const plain = cli([...base, "--out", join(tmp, "train-plain")]);
    assert.equal(plain.status, 0, plain.stderr);
    // The same seed and data: only the defence differs, so the training losses do too.
    const loss = (dir: string) => JSON.parse(readFileSync(join(dir, "run.json"), "utf-8")).history[0].trainLoss;
    assert.notEqual(loss(out), loss(join(tmp, "train-plain")));
    const bad = cli([...base, "--defense", "jpeg7", "--out", join(tmp, "train-bad")]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /unknown defense 'jpeg7' \(none, adversarial, .*jpeg10, bdr/);
    assert.ok(!existsSync(join(tmp, "train-bad")), "a failed command left output behind");
  });

  test("bad input fails with one clear line", () => {
    const unknown = cli(["experiment", "nope", "--out", join(tmp, "x")]);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /unknown experiment 'nope'/);
    const wrong = cli(["experiment", "methods", "--budgets", "0,1", "--out", join(tmp, "x")]);
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /--budgets does not apply to experiment methods/);
    const invalid = cli(["experiment", "methods", "--set", "runs=0", "--out", join(tmp, "x")]);
    assert.equal(invalid.status, 1);
    assert.match(invalid.stderr, /runs: /);
  });
});
