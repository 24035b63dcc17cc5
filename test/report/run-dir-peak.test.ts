// The run-directory report gives each trained model's final and peak (best-epoch) clean test accuracy, in the
// headline and the "Trained models" table, also for run.json files written before peak accuracy was recorded.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { runDirReport, scanRunDir } from "../../src/report/index.js";
import { recipe, testAccuracies, writeRunRecord } from "../../src/train/index.js";
import { historyOf } from "../train/history.js";

test("trained models: final and peak accuracy with its epoch; the headline gives both", () => {
  const dir = mkdtempSync(join(tmpdir(), "advpoison-run-dir-peak-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const base = {
    dataset: "fashion-mnist",
    subset: null,
    model: "smallcnn-bn",
    seed: 0,
    recipe: recipe("fast"),
    precision: "fp32" as const,
  };
  const early = historyOf([0.62, 0.91, 0.8]);
  mkdirSync(join(dir, "a-early-peak"));
  writeRunRecord(join(dir, "a-early-peak"), {
    ...base,
    ...testAccuracies(early),
    history: early,
    seconds: 2,
    resumedEpochs: 0,
  });
  // Written before run.json held peak_test_acc: the report derives it from the history.
  mkdirSync(join(dir, "b-old-record"));
  const old = historyOf([0.5, 0.7, 0.6]);
  writeFileSync(
    join(dir, "b-old-record", "run.json"),
    JSON.stringify({ ...base, test_acc: 0.6, history: old, seconds: 2 }),
  );

  const report = runDirReport(dir, scanRunDir(dir));
  const models = report.tables.find((t) => t.title === "Trained models")!;
  const col = (name: string) => models.columns.indexOf(name);
  assert.deepEqual(
    models.rows.map((r) => [r[0], r[col("test accuracy (final)")], r[col("peak test accuracy")]]),
    [
      ["a-early-peak", "80.00%", "91.00% (epoch 2)"],
      ["b-old-record", "60.00%", "70.00% (epoch 2)"],
    ],
  );
  const clean = report.headline![0]!;
  assert.equal(clean.value, "70.0%");
  assert.equal(clean.detail, "final clean test accuracy, mean of 2; peak 80.5% (best epoch)");
});
