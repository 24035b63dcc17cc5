// `advpoison demo` end to end, scaled down: the real Fashion-MNIST cut to 2000 training and 500 test images
// (given with --data-dir, since the demo trains its crafting model on the whole training split), 300 images
// poisoned with 2 PGD steps, one epoch per model. Checks the exit code, the JSON result, the report and
// that the release passes `verify`.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadDataset, subset, writeDataset } from "../../src/data/index.js";
import { needs } from "../requirements.js";

const FMNIST = "/usr/share/datasets/fashion-mnist";
const CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const ENV = { ...process.env, ADVPOISON_THREADS: "1", OMP_NUM_THREADS: "1" };

function cli(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env: ENV, timeout: 300_000 });
}

test("demo: a scaled-down run exits 0, reports its result and writes a release that verifies", {
  skip: needs(existsSync(FMNIST), `Fashion-MNIST (${FMNIST})`),
}, () => {
  const dir = mkdtempSync(join(tmpdir(), "advpoison-demo-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const data = join(dir, "fashion-mnist");
  const full = loadDataset(`fashion-mnist:${FMNIST}`);
  writeDataset(data, { train: subset(full.train, 2000), test: subset(full.test, 500) });
  const out = join(dir, "demo");
  const run = cli([
    "demo",
    ...["--out", out, "--data-dir", data, "--subset", "300", "--steps", "2"],
    ...["--crafter-epochs", "1", "--victim-epochs", "1", "--json"],
  ]);
  assert.equal(run.signal, null);
  assert.equal(run.status, 0, run.stderr);
  const result = JSON.parse(run.stdout.trim().split("\n").at(-1)!) as Record<string, unknown>;
  for (const key of ["clean_acc", "poisoned_acc", "attack_success"]) {
    const v = result[key] as number;
    assert.ok(typeof v === "number" && v >= 0 && v <= 1, `${key}: ${v}`);
  }
  assert.deepEqual([result.eps, result.steps, result.subset], [16, 2, 300]);
  assert.ok((result.seconds as number) > 0);
  // One epoch on 300 images already learns something (measured 28.6 %): above the 10 % of chance.
  assert.ok((result.clean_acc as number) > 0.15, `clean accuracy ${result.clean_acc}`);
  assert.equal(result.report, join(out, "report.html"));
  assert.ok(existsSync(result.report as string));
  assert.ok(existsSync(join(out, "report.json")));
  const release = result.release as string;
  assert.ok(existsSync(join(release, "manifest.json")), `no manifest in ${release}`);
  const verify = cli([
    "verify",
    ...["--source", "fashion-mnist", "--data-dir", data, "--subset", "300"],
    ...["--release", release, "--eps", "16", "--json"],
  ]);
  assert.equal(verify.status, 0, `verify: ${verify.stdout}${verify.stderr}`);
});
