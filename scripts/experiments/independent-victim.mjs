// Adds the independent PyTorch victim (scripts/experiments/torch-victim.py: the PyTorch examples' MNIST network
// and recipe, sharing nothing with advpoison's models, trainer or loader) to the results/audit.json entries of an
// audited release, beside a clean victim of the same trainer, images and seed. The victim trains on the release's
// IDX files; "peak" is its best epoch on the clean test split, the most a trainer who stops early can get.
// Arguments: the audit's run directory (its audit.json names the release), and the results file (default
// results/audit.json). PYTHON (default python3) must import torch; EPOCHS (5) and SEED (1) set the victim;
// ADVPOISON_THREADS (1) its threads. A clean victim of the same images, epochs, seed, threads and torch already in
// the file is reused. Fashion-MNIST releases only (the script reads IDX files).
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [dir, file = "results/audit.json"] = process.argv.slice(2);
if (!dir) {
  console.error("usage: node scripts/experiments/independent-victim.mjs AUDIT_DIR [results/audit.json]");
  process.exit(2);
}
const CLEAN = "/usr/share/datasets/fashion-mnist";
const SCRIPT = "scripts/experiments/torch-victim.py";
const python = process.env.PYTHON ?? "python3";
const epochs = Number(process.env.EPOCHS ?? 5);
const seed = Number(process.env.SEED ?? 1);
const threads = Number(process.env.ADVPOISON_THREADS ?? 1);
const audit = JSON.parse(readFileSync(join(dir, "audit.json"), "utf-8"));
const release = audit.release.dir;
if (!existsSync(join(release, "train-images-idx3-ubyte.gz"))) {
  console.error(`independent-victim: ${release} has no train-images-idx3-ubyte.gz (Fashion-MNIST IDX releases only)`);
  process.exit(1);
}
const entries = JSON.parse(readFileSync(file, "utf-8"));
const matching = entries.filter((e) => e.release.id === audit.release.id);
if (matching.length === 0) {
  console.error(`independent-victim: ${file} has no audit of release ${audit.release.id}; record the audit first`);
  process.exit(1);
}

/** One victim's JSON line; the clean one trains on as many images as the release has. */
function victim(train, extra = []) {
  const args = [SCRIPT, train, "--test", CLEAN, "--epochs", String(epochs), "--seed", String(seed), ...extra];
  const out = execFileSync(python, args, {
    encoding: "utf-8",
    env: { ...process.env, OMP_NUM_THREADS: String(threads) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return JSON.parse(out.trim().split("\n").at(-1));
}
const poisoned = victim(release);
// The clean victim depends only on its images, epochs, seed and threads: one already recorded is reused.
const same = (v) =>
  v?.images === poisoned.images &&
  v.epochs === epochs &&
  v.seed === seed &&
  v.threads === threads &&
  v.torch === poisoned.torch;
const recorded = entries.map((e) => e.independent_victim).find(same);
const clean = recorded
  ? { test_acc: recorded.clean_final, peak_test_acc: recorded.clean_peak, seconds: 0 }
  : victim(CLEAN, ["--subset", String(poisoned.images)]);
const rounded = (v) => Number(v.toFixed(4));
const result = {
  trainer: poisoned.trainer,
  model: poisoned.model,
  torch: poisoned.torch,
  epochs,
  seed,
  images: poisoned.images,
  final: rounded(poisoned.test_acc),
  peak: rounded(poisoned.peak_test_acc),
  peak_epoch: poisoned.peak_epoch,
  clean_final: rounded(clean.test_acc),
  clean_peak: rounded(clean.peak_test_acc),
  threads,
  seconds: Math.round(poisoned.seconds + clean.seconds),
  command: `OMP_NUM_THREADS=${threads} ${SCRIPT} RELEASE --epochs ${epochs} --seed ${seed} (clean: the same on Fashion-MNIST's first ${poisoned.images} training images)`,
};
for (const e of matching) e.independent_victim = result;
writeFileSync(`${file}.tmp`, `${JSON.stringify(entries, null, 2)}\n`);
renameSync(`${file}.tmp`, file);
console.log(
  `${audit.release.id}: PyTorch victim ${(result.final * 100).toFixed(1)} % final, ${(result.peak * 100).toFixed(1)} % ` +
    `peak (clean ${(result.clean_peak * 100).toFixed(1)} %), in ${matching.length} entr${matching.length === 1 ? "y" : "ies"}`,
);
