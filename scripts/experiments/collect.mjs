// Gathers the summaries of finished experiments (RUNS/experiment-NAME/results.json) into one committed file.
// Arguments: output file, runs directory, experiment names. Other experiments already in the file are kept.
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [out, runs, ...names] = process.argv.slice(2);
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
    summary: r.summary.map(
      ({ condition, cells, runs: n, test_acc_mean, test_acc_sd, test_accs, attack_success, skipped }) => ({
        condition,
        ...cells,
        runs: n,
        test_acc_mean: test_acc_mean === null ? null : Number(test_acc_mean.toFixed(4)),
        test_acc_sd: test_acc_sd === null ? null : Number(test_acc_sd.toFixed(4)),
        test_accs,
        attack_success: attack_success === null ? null : Number(attack_success.toFixed(4)),
        ...(skipped ? { skipped } : {}),
      }),
    ),
  };
}
writeFileSync(`${out}.tmp`, `${JSON.stringify(all, null, 2)}\n`);
renameSync(`${out}.tmp`, out);
console.log(`${out}: ${names.join(", ")}`);
