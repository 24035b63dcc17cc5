// Final and peak victim accuracy through an experiment's records and outputs: victim units (older results.json
// files get the peak from each unit's history), summary rows (mean ± sd of both), the terminal/HTML table, the
// CSVs, the headline, and the scripts that copy results into results/*.json. Victims here peak before their
// last epoch, so a peak that is really the final accuracy (or the other way round) shows.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { EXPERIMENTS, ResultsStore, TABLE_COLUMNS, tableRows } from "../../src/experiment/index.js";
import type { Outcome } from "../../src/experiment/output.js";
import { writeSummaryCsv, writeVictimsCsv } from "../../src/experiment/output.js";
import { summarise } from "../../src/experiment/run.js";
import type { Condition } from "../../src/experiment/runner.js";
import type { VictimUnit } from "../../src/experiment/store.js";
import { recipe, testAccuracies } from "../../src/train/index.js";
import { historyOf } from "../train/history.js";

const tmp = mkdtempSync(join(tmpdir(), "advpoison-peak-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

function victim(condition: string, run: number, testAccs: number[]): VictimUnit {
  const history = historyOf(testAccs);
  return {
    kind: "victim",
    key: `victim/${condition}/run${run}#0`,
    condition,
    run,
    seed: run,
    model: "smallcnn-bn",
    epochs: testAccs.length,
    train_images: 100,
    test_images: 50,
    ...testAccuracies(history),
    train_acc: 0.9,
    history,
    seconds: 1,
    finished: "2026-01-01T00:00:00.000Z",
  };
}

const victimSpec = { model: "smallcnn-bn", recipe: recipe("fast"), trainSubset: null, testSubset: null };
const conditions: Condition[] = [
  { id: "clean", cells: { method: "clean" }, release: null, victim: victimSpec },
  { id: "targeted", cells: { method: "targeted" }, release: null, victim: victimSpec },
];
const victims = new Map([
  ["clean", [victim("clean", 1, [0.8, 0.9, 0.88])]],
  ["targeted", [victim("targeted", 1, [0.68, 0.5, 0.41]), victim("targeted", 2, [0.6, 0.7, 0.39])]],
]);
const rows = summarise(conditions, victims, new Map());

describe("summary rows", () => {
  test("hold mean ± sd of the final and of the peak accuracy, and the victims' epochs", () => {
    const t = rows[1]!;
    assert.deepEqual(t.test_accs, [0.41, 0.39]);
    assert.deepEqual(t.peak_test_accs, [0.68, 0.7]);
    assert.ok(Math.abs(t.test_acc_mean! - 0.4) < 1e-12 && Math.abs(t.peak_test_acc_mean! - 0.69) < 1e-12);
    assert.ok(Math.abs(t.peak_test_acc_sd! - Math.SQRT2 * 0.01) < 1e-12);
    assert.equal(t.victim_epochs, 3);
  });

  test("the table shows final, then peak", () => {
    assert.deepEqual(TABLE_COLUMNS.slice(0, 2), ["clean test accuracy, final (mean ± sd)", "peak (best epoch)"]);
    assert.deepEqual(tableRows({ columns: ["method"] }, rows)[1], [
      "targeted",
      "40.00 ± 1.41%",
      "69.00 ± 1.41%",
      2,
      "–",
    ]);
  });

  test("the headline gives the final accuracy and the peak beside it", () => {
    const [clean, poisoned] = EXPERIMENTS.methods.headline(rows);
    assert.equal(poisoned!.value, "40.0%");
    assert.match(poisoned!.detail!, /^final clean test accuracy, mean of 2 victims; peak 69\.0% \(best epoch\)$/);
    assert.match(clean!.detail!, /peak 90\.0%/);
  });
});

describe("CSV files", () => {
  const outcome = {
    name: "methods",
    def: EXPERIMENTS.methods,
    conditions,
    rows,
    victims,
    releases: new Map(),
  } as unknown as Outcome<"methods">;

  test("results.csv has each victim's final and peak accuracy and its best epoch", () => {
    const path = join(tmp, "results.csv");
    writeVictimsCsv(path, { ...outcome, def: { ...EXPERIMENTS.methods, columns: ["method"] } });
    const [head, , second] = readFileSync(path, "utf-8").trim().split("\n");
    const cols = head!.split(",");
    const cells = second!.split(",");
    const at = (c: string) => cells[cols.indexOf(c)];
    assert.deepEqual([at("test_acc"), at("peak_test_acc"), at("peak_epoch")], ["0.41", "0.68", "1"]);
  });

  test("summary.csv has mean and sd of both, and the victims' epochs", () => {
    const path = join(tmp, "summary.csv");
    writeSummaryCsv(path, { ...outcome, def: { ...EXPERIMENTS.methods, columns: ["method"] } });
    const [head, , targeted] = readFileSync(path, "utf-8").trim().split("\n");
    const cols = head!.split(",");
    const cells = targeted!.split(",");
    const at = (c: string) => Number(cells[cols.indexOf(c)]);
    assert.deepEqual([at("victim_epochs"), at("test_acc_mean"), at("peak_test_acc_mean")], [3, 0.4, 0.69]);
  });
});

test("results.json written before victims held peak accuracy gets it from each victim's history", () => {
  const dir = join(tmp, "old-run");
  mkdirSync(dir);
  const { peak_test_acc: _p, peak_epoch: _e, ...old } = victim("targeted", 1, [0.3, 0.6, 0.2]);
  const file = { tool: "advpoison", experiment: "methods", units: { [old.key]: old }, summary: [], files: {} };
  writeFileSync(join(dir, "results.json"), JSON.stringify(file));
  const unit = ResultsStore.open(dir, "methods").get(old.key, "victim")!;
  assert.deepEqual([unit.test_acc, unit.peak_test_acc, unit.peak_epoch], [0.2, 0.6, 2]);
});

describe("scripts/experiments", () => {
  // What the efficacy script and all.sh set for the recording scripts (scripts-record.test.ts checks them).
  const env = { ...process.env, ADVPOISON_THREADS: "1", VICTIM_SEED: "1" };
  const node = (script: string, args: string[]) => {
    const r = spawnSync(process.execPath, [join("scripts/experiments", script), ...args], { encoding: "utf8", env });
    assert.equal(r.status, 0, r.stderr);
  };

  test("record.mjs gives a results/*.json row the victim's final and peak accuracy and epochs", () => {
    const out = join(tmp, "efficacy.json");
    const trainJson = { test_acc: 0.41234, peak_test_acc: 0.68012, peak_epoch: 1, epochs: 5, seconds: 9 };
    node("record.mjs", [out, "targeted", "8", "40", "{}", JSON.stringify(trainJson), "null", "", "CMD"]);
    const [row] = JSON.parse(readFileSync(out, "utf-8"));
    assert.deepEqual([row.test_acc, row.peak_test_acc, row.peak_epoch, row.victim_epochs], [0.4123, 0.6801, 1, 5]);
  });

  test("collect.mjs copies final and peak mean ± sd and the victims' epochs of every condition", () => {
    const runs = join(tmp, "runs");
    mkdirSync(join(runs, "experiment-methods"), { recursive: true });
    const results = { scale: "s", scale_note: "n", updated: "u", config: { full: {} }, summary: rows };
    writeFileSync(join(runs, "experiment-methods", "results.json"), JSON.stringify(results));
    const out = join(tmp, "experiments.json");
    node("collect.mjs", [out, runs, "methods"]);
    const row = JSON.parse(readFileSync(out, "utf-8")).methods.summary[1];
    assert.deepEqual(
      [row.victim_epochs, row.test_acc_mean, row.peak_test_acc_mean, row.peak_test_acc_sd, row.peak_test_accs],
      [3, 0.4, 0.69, 0.0141, [0.68, 0.7]],
    );
  });
});
