// The scripts that write results/*.json record how their rows were made: record.mjs the victim's seed and the torch
// threads (refusing to write a row without them), collect.mjs the threads and the victims' seeds with paths inside
// the repository made relative, labels.mjs the threads its command names and each labelling's victim seeds.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, test } from "node:test";

const tmp = mkdtempSync(join(tmpdir(), "advpoison-record-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs scripts/experiments/SCRIPT with `env` instead of the recording variables of this process. */
function run(script: string, args: string[], env: Record<string, string>) {
  const { ADVPOISON_THREADS: _t, VICTIM_SEED: _s, ...rest } = process.env;
  return spawnSync(process.execPath, [join("scripts/experiments", script), ...args], {
    encoding: "utf8",
    env: { ...rest, ...env },
  });
}

const victimJson = JSON.stringify({ test_acc: 0.4, peak_test_acc: 0.6, peak_epoch: 1, epochs: 5, seconds: 9 });
const victimUnit = (condition: string, seed: number) => ({
  kind: "victim",
  condition,
  seed,
  key: `${condition}${seed}`,
});

describe("recording scripts", { timeout: 60_000 }, () => {
  test("record.mjs writes the victim's seed and the thread count into the row", () => {
    const out = join(tmp, "efficacy.json");
    const r = run("record.mjs", [out, "clean", "0", "0", "{}", victimJson, "null", "", "CMD"], {
      VICTIM_SEED: "2",
      ADVPOISON_THREADS: "3",
    });
    assert.equal(r.status, 0, r.stderr);
    const [row] = JSON.parse(readFileSync(out, "utf-8"));
    assert.deepEqual([row.victim_seed, row.threads, row.provenance], [2, 3, undefined]);
  });

  test("record.mjs refuses a row without its seed or thread count and writes nothing", () => {
    const out = join(tmp, "refused.json");
    const envs: Record<string, string>[] = [
      { VICTIM_SEED: "1" },
      { ADVPOISON_THREADS: "1" },
      { VICTIM_SEED: "1", ADVPOISON_THREADS: "x" },
    ];
    for (const env of envs) {
      const r = run("record.mjs", [out, "clean", "0", "0", "{}", victimJson, "null", "", "CMD"], env);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /must be a whole number/);
      assert.ok(!existsSync(out));
    }
  });

  test("collect.mjs records threads and victim seeds, and no path of this checkout", () => {
    const runs = join(tmp, "runs");
    mkdirSync(join(runs, "experiment-eps"), { recursive: true });
    const root = resolve(".");
    const results = {
      scale: "s",
      scale_note: `crafting model ${root}/runs/crafter/model.safetensors`,
      updated: "u",
      config: { full: {}, out: `${root}/runs/experiment-eps` },
      units: { a: victimUnit("clean", 2), b: victimUnit("eps8", 1), c: victimUnit("eps8", 2), d: { kind: "release" } },
      summary: [],
    };
    writeFileSync(join(runs, "experiment-eps", "results.json"), JSON.stringify(results));
    const out = join(tmp, "experiments.json");
    const r = run("collect.mjs", [out, runs, "eps"], { ADVPOISON_THREADS: "2" });
    assert.equal(r.status, 0, r.stderr);
    const e = JSON.parse(readFileSync(out, "utf-8")).eps;
    assert.deepEqual(
      [e.threads, e.victim_seeds, e.command],
      [2, [1, 2], "ADVPOISON_THREADS=2 scripts/experiments/all.sh eps"],
    );
    assert.equal(e.config.out, "runs/experiment-eps");
    assert.equal(e.scale_note, "crafting model runs/crafter/model.safetensors");
    assert.equal(run("collect.mjs", [out, runs, "eps"], {}).status, 1, "without ADVPOISON_THREADS");
  });

  test("labels.mjs records the threads its command names and each labelling's victim seeds", () => {
    const file = join(tmp, "labels-results.json");
    const row = (condition: string, cells: object) => ({
      condition,
      cells,
      runs: 1,
      victim_epochs: 15,
      test_acc_mean: 0.5,
      peak_test_acc_mean: 0.6,
      attack_success: 0.1,
    });
    writeFileSync(
      file,
      JSON.stringify({
        config: { subset: 100, poison: { augment: true, augmentKind: "authors" } },
        units: { a: victimUnit("eps16/release-y", 1), b: victimUnit("eps16/release-pi", 3) },
        summary: [
          row("clean", {}),
          row("eps16/release-y", { eps: "16/255", steps: 40 }),
          row("eps16/release-pi", { eps: "16/255", steps: 40 }),
        ],
      }),
    );
    const out = join(tmp, "labels.json");
    const r = run("labels.mjs", [out, file, "ADVPOISON_THREADS=2 node dist/src/cli/main.js experiment labels"], {});
    assert.equal(r.status, 0, r.stderr);
    const rows = JSON.parse(readFileSync(out, "utf-8"));
    assert.deepEqual(
      rows.map((x: { labels: string; victim_seeds: number[]; threads: number }) => [
        x.labels,
        x.victim_seeds,
        x.threads,
      ]),
      [
        ["original", [1], 2],
        ["permuted", [3], 2],
      ],
    );
    assert.equal(run("labels.mjs", [join(tmp, "no.json"), file, "node dist/src/cli/main.js experiment"], {}).status, 1);
    assert.ok(!existsSync(join(tmp, "no.json")));
  });
});
