// A training run whose loss stops being finite (a learning rate far too high) is an error, not a model: train
// stops with one error line after its progress, exits non-zero and leaves no run folder it made from nothing.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { squareMnist } from "../cli/bad-inputs.js";

const CLI = join(process.cwd(), "dist/src/cli/main.js");
const tmp = mkdtempSync(join(tmpdir(), "advpoison-diverge-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

test("train --lr 1e30: one error line naming the divergence, exit 1, no run folder left", { timeout: 120_000 }, () => {
  const data = squareMnist(tmp);
  const out = join(tmp, "run");
  const r = spawnSync(
    process.execPath,
    [CLI, "train", "--dataset", `mnist:${data}`, "--lr", "1e30", "--epochs", "3", "--out", out],
    { encoding: "utf8", env: { ...process.env, ADVPOISON_THREADS: "1" } },
  );
  assert.equal(r.status, 1, r.stderr);
  const errors = r.stderr.split("\n").filter((l) => l.startsWith("advpoison: error:"));
  assert.equal(errors.length, 1, r.stderr);
  assert.match(errors[0]!, /training diverged in epoch \d: .* is not finite .*\(learning rate 1e\+30 too high\?\)/);
  assert.equal(r.stderr.trim().split("\n").at(-1), errors[0], "the error is the last line");
  assert.ok(!existsSync(out), "a diverged run from nothing leaves nothing");
});
