// Gathers the summaries of finished experiments (RUNS/experiment-NAME/results.json) into one committed file:
// per condition, the victims' final (last-epoch) and peak (best-epoch) clean test accuracy; per experiment, the
// torch threads (ADVPOISON_THREADS, which all.sh sets) and the victims' seeds. Paths inside the repository are
// written relative to it, so that the file does not carry the layout of the machine that made it.
// Arguments: output file, runs directory, experiment names. Other experiments already in the file are kept.
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const [out, runs, ...names] = process.argv.slice(2);
const threads = process.env.ADVPOISON_THREADS;
if (!/^\d+$/.test(threads ?? "")) {
  console.error(`collect.mjs: ADVPOISON_THREADS must be a whole number (all.sh sets it), got '${threads ?? ""}'`);
  process.exit(1);
}
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** `v` with every absolute path inside the repository made relative to it. */
const relative = (v) =>
  typeof v === "string"
    ? v.replaceAll(`${root}/`, "")
    : Array.isArray(v)
      ? v.map(relative)
      : v && typeof v === "object"
        ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, relative(x)]))
        : v;
// null for conditions that did not run (and for fields a results.json from before them lacks).
const rounded = (v) => (v === null || v === undefined ? null : Number(v.toFixed(4)));
const all = existsSync(out) ? JSON.parse(readFileSync(out, "utf-8")) : {};
for (const name of names) {
  const r = JSON.parse(readFileSync(join(runs, `experiment-${name}`, "results.json"), "utf-8"));
  const { full, ...config } = r.config;
  const victims = Object.values(r.units ?? {}).filter((u) => u.kind === "victim");
  all[name] = relative({
    scale: r.scale,
    scale_note: r.scale_note,
    updated: r.updated,
    command: `ADVPOISON_THREADS=${threads} scripts/experiments/all.sh ${name}`,
    config,
    threads: Number(threads),
    victim_seeds: [...new Set(victims.map((u) => u.seed))].sort((a, b) => a - b),
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
  });
}
writeFileSync(`${out}.tmp`, `${JSON.stringify(all, null, 2)}\n`);
renameSync(`${out}.tmp`, out);
console.log(`${out}: ${names.join(", ")}`);
