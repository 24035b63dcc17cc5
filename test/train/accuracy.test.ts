// Final and peak test accuracy of a training history, and run.json keeping both (older records without peak
// fields get them from their history).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { RUN_FILE, readRunRecord, recipe, testAccuracies, writeRunRecord } from "../../src/train/index.js";
import { historyOf } from "./history.js";

describe("testAccuracies", () => {
  test("final is the last epoch, peak the best one, even when the best is not the last", () => {
    assert.deepEqual(testAccuracies(historyOf([0.68, 0.55, 0.41])), {
      test_acc: 0.41,
      peak_test_acc: 0.68,
      peak_epoch: 1,
    });
    assert.deepEqual(testAccuracies(historyOf([0.2, 0.7, 0.5])), { test_acc: 0.5, peak_test_acc: 0.7, peak_epoch: 2 });
  });

  test("equal accuracies peak at the earliest epoch; epochs without a test accuracy do not count", () => {
    assert.deepEqual(testAccuracies(historyOf([0.3, 0.6, undefined, 0.6])), {
      test_acc: 0.6,
      peak_test_acc: 0.6,
      peak_epoch: 2,
    });
  });

  test("without any test accuracy all three are NaN", () => {
    for (const h of [[], historyOf([undefined, undefined])]) {
      const a = testAccuracies(h);
      assert.ok(Number.isNaN(a.test_acc) && Number.isNaN(a.peak_test_acc) && Number.isNaN(a.peak_epoch));
    }
  });
});

describe("run.json", () => {
  const dir = mkdtempSync(join(tmpdir(), "advpoison-run-record-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const history = historyOf([0.5, 0.9, 0.7]);
  const base = {
    dataset: "fashion-mnist",
    subset: null,
    model: "smallcnn",
    seed: 0,
    recipe: recipe("fast"),
    precision: "fp32" as const,
  };

  test("records final and peak accuracy and reads them back", () => {
    writeRunRecord(dir, { ...base, ...testAccuracies(history), history, seconds: 3, resumedEpochs: 0 });
    const raw = JSON.parse(readFileSync(join(dir, RUN_FILE), "utf-8"));
    assert.deepEqual([raw.test_acc, raw.peak_test_acc, raw.peak_epoch], [0.7, 0.9, 2]);
    const r = readRunRecord(dir);
    assert.deepEqual([r.test_acc, r.peak_test_acc, r.peak_epoch], [0.7, 0.9, 2]);
  });

  test("a record written before peak accuracy existed gets it from its history", () => {
    writeFileSync(join(dir, RUN_FILE), JSON.stringify({ ...base, test_acc: 0.7, history, seconds: 3 }));
    const r = readRunRecord(dir);
    assert.deepEqual([r.test_acc, r.peak_test_acc, r.peak_epoch], [0.7, 0.9, 2]);
  });
});
