// The labels experiment's rows for results/labels.json: per release setting (eps, steps) and labelling, the
// crafting model's attack success and the victims' final and peak clean test accuracy (against the true labels).
// Arguments: output file, the run's results.json, the command that made it.
import { readFileSync, renameSync, writeFileSync } from "node:fs";

const [out, results, command] = process.argv.slice(2);
const r = JSON.parse(readFileSync(results, "utf-8"));
const poison = r.config.poison;
const LABELS = { "release-y": "original", "release-pi": "permuted", "release-predicted": "predicted" };
const rounded = (v) => (v === null || v === undefined ? null : Number(v.toFixed(4)));
const rows = r.summary
  .filter((row) => row.condition !== "clean" && row.runs > 0)
  .map((row) => ({
    eps: Number(String(row.cells.eps).split("/")[0]),
    steps: Number(row.cells.steps),
    augment: poison.augment ? poison.augmentKind : false,
    attack_success: rounded(row.attack_success),
    labels: LABELS[row.condition.split("/").pop()],
    test_acc: rounded(row.test_acc_mean),
    peak_test_acc: rounded(row.peak_test_acc_mean),
    runs: row.runs,
    subset: r.config.subset,
    victim_epochs: row.victim_epochs,
    command,
  }));
writeFileSync(`${out}.tmp`, `${JSON.stringify(rows, null, 2)}\n`);
renameSync(`${out}.tmp`, out);
console.log(`${out}: ${rows.length} rows`);
