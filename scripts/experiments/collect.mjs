// Gathers the summaries of finished experiments (RUNS/experiment-NAME/results.json) into one committed file:
// per condition, the victims' final (last-epoch) and peak (best-epoch) clean test accuracy.
// Arguments: output file, runs directory, experiment names. Other experiments already in the file are kept.
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [out, runs, ...names] = process.argv.slice(2);
// null for conditions that did not run (and for fields a results.json from before them lacks).
const rounded = (v) => (v === null || v === undefined ? null : Number(v.toFixed(4)));
const all = existsSync(out) ? JSON.parse(readFileSync(out, "utf-8")) : {};
for (const name of names) {
  const r = JSON.parse(readFileSync(join(runs, `experiment-${name}`, "results.json"), "utf-8"));
  const { full, ...config } = r.config;
  all[name] = {
    scale: r.scale,
    scale_note: r.scale_note,
    updated: r.updated,
    command: `scripts/experiments/all.sh ${name}`,
    config,
    summary: r.summary.map((row) => ({
      condition: row.condition,
      ...row.cells,
      runs: row.runs,
      victim_epochs: row.victim_epochs,
      test_acc_mean: rounded(row.test_acc_mean),
      test_acc_sd: rounded(row.test_acc_sd),
      test_accs: row.test_accs,
      peak_test_acc_mean: rounded(row.peak_test_acc_mean),
      peak_test_acc_sd: rounded(row.peak_test_acc_sd),
      peak_test_accs: row.peak_test_accs,
      attack_success: rounded(row.attack_success),
      ...(row.skipped ? { skipped: row.skipped } : {}),
    })),
  };
}
writeFileSync(`${out}.tmp`, `${JSON.stringify(all, null, 2)}\n`);
renameSync(`${out}.tmp`, out);
console.log(`${out}: ${names.join(", ")}`);
