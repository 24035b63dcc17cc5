// Adds an audit to results/audit.json (a list of audits): the release's settings, the worst case, clean and plain
// accuracies, every row, and how it was run. An audit of the same release with the same battery, victims, epochs
// and seeds replaces its earlier entry; any other is appended.
// Arguments: the audit's run directory (its audit.json), and the results file (default results/audit.json).
// AUDIT_NOTE, when set, is kept as the entry's note (how the release was made, what else ran beside it).
// AUDIT_LABEL names the levers of a release crafted to hold against the audit (release.label): such audits are
// tabulated apart from the method's plain audits, beside the plain release's audit with the same battery.
// Rerunning an audit whose victims are all recorded, then this script, refreshes the entry (see below).
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [dir, file = "results/audit.json"] = process.argv.slice(2);
if (!dir) {
  console.error("usage: node scripts/experiments/audit.mjs AUDIT_DIR [results/audit.json]");
  process.exit(2);
}
const a = JSON.parse(readFileSync(join(dir, "audit.json"), "utf-8"));
const rounded = (v) => (v === null || v === undefined || !Number.isFinite(v) ? null : Number(v.toFixed(4)));
const entry = {
  release: {
    id: a.release.id,
    method: a.release.method,
    eps: a.release.eps,
    subset: a.release.subset,
    steps: a.release.steps,
    options: a.release.options,
    ...(process.env.AUDIT_LABEL ? { label: process.env.AUDIT_LABEL } : {}),
  },
  worst_case_acc: rounded(a.worst_case.acc),
  worst_case: { defense: a.worst_case.defense, victim: a.worst_case.victim },
  clean_acc: rounded(a.clean_acc),
  protection: rounded(a.protection),
  plain_stopped_acc: rounded(a.plain_stopped_acc),
  rows: a.rows.map((r) => ({
    ...r,
    ...Object.fromEntries(
      [
        "final",
        "final_sd",
        "stopped",
        "stopped_sd",
        "clean_final",
        "clean_final_sd",
        "clean_stopped",
        "clean_stopped_sd",
      ].map((k) => [k, rounded(r[k])]),
    ),
  })),
  skipped: a.skipped,
  ...(a.survival
    ? { survival: a.survival.map((r) => ({ ...r, changed: rounded(r.changed), mean_abs: rounded(r.mean_abs) })) }
    : {}),
  defenses: a.defenses,
  victims: a.victims,
  epochs: a.epochs,
  split: a.split,
  validation_images: a.validation_images,
  scoring_images: a.scoring_images,
  precision: a.precision,
  command: a.command,
  date: new Date().toISOString().slice(0, 10),
  victim_seeds: a.victim_seeds,
  threads: a.threads,
  // This run's wall time, and the training time of all its victims (the same when no victim was reused).
  seconds: Math.round(a.seconds),
  victim_seconds: Math.round(a.victim_seconds),
  ...(process.env.AUDIT_NOTE ? { note: process.env.AUDIT_NOTE } : {}),
};
const key = (e) => JSON.stringify([e.release.id, e.defenses, e.victims, e.epochs, e.victim_seeds]);
const audits = existsSync(file) ? JSON.parse(readFileSync(file, "utf-8")) : [];
const at = audits.findIndex((e) => key(e) === key(entry));
// The independent victim (independent-victim.mjs) trained on the release, not in the audit: it stays. A rerun
// that trained no victim (every one reused) only adds what the audit computes besides them (the survival table):
// the entry keeps when, at how many threads and how long its victims were measured, and its label and note unless
// they are given.
const earlier = at < 0 ? undefined : audits[at];
const rerun = earlier !== undefined && a.victims_trained === 0;
const updated = {
  ...entry,
  ...(rerun && {
    release: { ...entry.release, label: process.env.AUDIT_LABEL || earlier.release.label },
    date: earlier.date,
    threads: earlier.threads,
    seconds: earlier.seconds,
    note: process.env.AUDIT_NOTE || earlier.note,
  }),
  independent_victim: earlier?.independent_victim,
};
const kept = at < 0 ? [...audits, entry] : audits.with(at, updated);
writeFileSync(`${file}.tmp`, `${JSON.stringify(kept, null, 2)}\n`);
renameSync(`${file}.tmp`, file);
console.log(
  `${file}: ${kept.length} audit${kept.length === 1 ? "" : "s"} (${kept.length === audits.length ? "replaced" : "added"} one)`,
);
