// What a worker checks before acting on a job, without Redis or libtorch: the run's directory under its own
// shared root, a run.json sealed by the job's digest, paths that stay inside the root once symlinks are
// followed, a release directory outside every run's directory.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, beforeEach, describe, test } from "node:test";
import { type CraftPlan, planDigest } from "../../src/poison/index.js";
import { runOfJob } from "../../src/queue/run-check.js";
import { chunkDir, crafterFile, parseRunRecord, type RunRecord, recordDigest } from "../../src/queue/run-record.js";
import { writeRunFile } from "../../src/queue/run-store.js";
import { canonicalJson } from "../../src/util/canonical-json.js";

const tmp = realpathSync(mkdtempSync(join(tmpdir(), "advpoison-run-check-")));
const root = join(tmp, "shared");
const outside = join(tmp, "outside");
const run = "r1";
const dir = join(root, run);

const plan: CraftPlan = {
  recipe: "random",
  eps: 8,
  steps: 2,
  stepSize: 2,
  init: "uniform",
  restarts: 1,
  augment: null,
  chunkSize: 5,
  budget: 1,
  seed: 3,
  permutation: [1, 0],
  dataset: { spec: "npy:/data/x", dataDir: null, subset: null, count: 10, shape: [4, 4, 1] },
  crafters: [{ path: "/somewhere/m.safetensors", model: "mlp", sha256: "a".repeat(64) }],
  extra: {},
};

function record(): RunRecord {
  return {
    run,
    digest: planDigest(plan),
    plan: structuredClone(plan),
    dir,
    out: join(root, "releases", run),
    format: "same",
    force: false,
    crafters: [{ model: "mlp", sha256: "a".repeat(64) }],
    chunks: 2,
    images: 10,
    created: "2024-01-01T00:00:00.000Z",
  };
}

const jobOf = (rec: RunRecord) => ({ run: rec.run, digest: recordDigest(rec), dir: rec.dir, chunk: 0 });

describe("a worker's checks of a job", { timeout: 30_000 }, () => {
  let rec: RunRecord;
  beforeEach(() => {
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(join(dir, "crafters"), { recursive: true });
    mkdirSync(join(dir, "chunks"));
    mkdirSync(outside);
    rec = record();
    writeRunFile(rec);
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  test("a job of a run under the root, sealed by its run.json, is taken", () => {
    assert.deepEqual(runOfJob(jobOf(rec), root), rec);
  });

  test("a job whose directory is outside the root is refused before anything there is read", () => {
    const elsewhere = { ...rec, dir: join(outside, run) };
    assert.throws(
      () => runOfJob(jobOf(elsewhere), root),
      new RegExp(`the job's directory ${join(outside, run)} is not ${dir}: this worker takes only runs under`),
    );
    assert.throws(() => runOfJob({ ...jobOf(rec), run: "../r1" }, root), /which is no run name/);
  });

  test("a run.json changed after enqueuing, in any field, is refused", () => {
    const job = jobOf(rec);
    for (const change of [
      (r: RunRecord) => {
        r.force = true;
      },
      (r: RunRecord) => {
        r.out = join(root, "releases", "other");
      },
      (r: RunRecord) => {
        r.plan.dataset.spec = "npy:/data/someone-else";
        r.digest = planDigest(r.plan);
      },
      (r: RunRecord) => {
        r.format = "npy";
      },
    ]) {
      const changed = record();
      change(changed);
      writeRunFile(changed);
      assert.throws(() => runOfJob(job, root), /run\.json is not the record the job of run 'r1' was made for/);
    }
  });

  test("a record whose plan does not hash to its digest, or whose release is outside the root, is no record", () => {
    const text = (f: (r: RunRecord) => void) => {
      const r = record();
      f(r);
      return JSON.stringify(r);
    };
    const badPlan = text((r) => {
      r.plan.eps = 16;
    });
    assert.throws(() => parseRunRecord(badPlan, "x"), /x: its plan hashes to \w+, not the recorded \w+/);
    const out = text((r) => {
      r.out = join(outside, "release");
    });
    assert.throws(() => parseRunRecord(out, "x"), /the release .*outside\/release is not inside the shared directory/);
    const own = text((r) => {
      r.out = join(dir, "release");
    });
    assert.throws(() => parseRunRecord(own, "x"), /inside the run's own directory/);
  });

  test("symlinks out of the root are refused: the run's directory, run.json, chunks, a crafting model, the release", () => {
    const links: Record<string, [string, string, RegExp]> = {
      "run's directory": [
        dir,
        join(outside, "run"),
        /run 'r1''s directory .* leads to .*outside\/run, outside the shared/,
      ],
      "run.json": [join(dir, "run.json"), join(outside, "run.json"), /r1\/run\.json is not a plain file/],
      chunks: [chunkDir(rec), join(outside, "chunks"), /chunks .* leads to .*outside\/chunks, outside the shared/],
      "crafting model": [
        crafterFile(dir, rec.crafters[0]!.sha256),
        join(outside, "model.safetensors"),
        /leads to .*outside\/model\.safetensors, outside the shared/,
      ],
      release: [
        join(root, "releases"),
        join(outside, "releases"),
        /the release .* leads to .*outside\/releases\/r1, outside/,
      ],
    };
    for (const [what, [path, target, refusal]] of Object.entries(links)) {
      rmSync(tmp, { recursive: true, force: true });
      mkdirSync(join(dir, "crafters"), { recursive: true });
      mkdirSync(chunkDir(rec));
      mkdirSync(outside);
      writeRunFile(rec);
      // The target holds what the path held, so that only the link is wrong.
      rmSync(path, { recursive: true, force: true });
      if (what === "run.json") writeFileSync(target, JSON.stringify(rec));
      else mkdirSync(target);
      if (what === "run's directory") writeFileSync(join(target, "run.json"), JSON.stringify(rec));
      symlinkSync(target, path);
      assert.throws(() => runOfJob(jobOf(rec), root), refusal, what);
    }
  });

  test("another run's directory is no place for a release", () => {
    mkdirSync(join(root, "r2"));
    writeFileSync(join(root, "r2", "run.json"), "{}");
    const r = { ...record(), out: join(root, "r2", "release") };
    writeRunFile(r);
    assert.throws(() => runOfJob(jobOf(r), root), /inside run 'r2''s directory/);
  });

  test("canonical JSON: the same value in any key order is the same text", () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 2 }], c: null } }),
      canonicalJson({ a: { c: null, d: [2, { e: 2, f: 1 }] }, b: 1 }),
    );
    assert.notEqual(canonicalJson({ a: 1 }), canonicalJson({ a: 2 }));
  });
});
