// The labels experiment's rows for results/labels.json: per release setting (eps, steps) and labelling, the
// crafting model's attack success and the victims' final and peak clean test accuracy (against the true labels).
// Arguments: output file, the run's results.json, the command that made it, which names its ADVPOISON_THREADS=N:
// rows record the thread count (it moves results) and the seeds of their victims.
import { readFileSync, renameSync, writeFileSync } from "node:fs";

const [out, results, command] = process.argv.slice(2);
const threads = /(?:^|\s)ADVPOISON_THREADS=(\d+)\b/.exec(command ?? "")?.[1];
if (threads === undefined) {
  console.error("labels.mjs: the command must say its thread count as ADVPOISON_THREADS=N");
  process.exit(1);
}
const r = JSON.parse(readFileSync(results, "utf-8"));
const victims = Object.values(r.units ?? {}).filter((u) => u.kind === "victim");
const seedsOf = (condition) =>
  [...new Set(victims.filter((u) => u.condition === condition).map((u) => u.seed))].sort((a, b) => a - b);
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
    victim_seeds: seedsOf(row.condition),
    threads: Number(threads),
    command,
  }));
writeFileSync(`${out}.tmp`, `${JSON.stringify(rows, null, 2)}\n`);
renameSync(`${out}.tmp`, out);
console.log(`${out}: ${rows.length} rows`);
