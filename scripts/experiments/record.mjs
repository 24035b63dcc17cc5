// Adds (or replaces) one row of an efficacy table: the victim's final (last-epoch) and peak (best-epoch) accuracy.
// Arguments: results file, recipe, eps, steps, settings JSON, victim JSON, craft JSON, variant, command.
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";

// Environment, set by the efficacy script: VICTIM_SEED (the seed its victim trained with) and ADVPOISON_THREADS
// (the torch threads of every process of the run), both recorded; PRECISION, SUBSET, ... as the script reads them.
const [file, recipe, eps, steps, settingsJson, victimJson, craftJson, variant, command] = process.argv.slice(2);
/** A whole number the script must have set: a row without it would not say how it was made. */
function required(name) {
  const v = process.env[name];
  if (!/^\d+$/.test(v ?? "")) {
    console.error(`record.mjs: ${name} must be a whole number (the efficacy script sets it), got '${v ?? ""}'`);
    process.exit(1);
  }
  return Number(v);
}
const victimSeed = required("VICTIM_SEED");
const threads = required("ADVPOISON_THREADS");
const victim = JSON.parse(victimJson);
const craft = JSON.parse(craftJson);
const rows = existsSync(file) ? JSON.parse(readFileSync(file, "utf-8")) : [];
const row = {
  recipe,
  method: recipe,
  eps: Number(eps),
  steps: Number(steps),
  budget: 1,
  // victim.model: a victim of another trainer (scripts/experiments/torch-victim.py) names its own.
  victim: victim.model ?? process.env.VICTIM_MODEL ?? "smallcnn-bn",
  ...(victim.trainer ? { trainer: victim.trainer } : {}),
  victim_epochs: victim.epochs,
  victim_seed: victimSeed,
  threads,
  test_acc: Number(victim.test_acc.toFixed(4)),
  peak_test_acc: Number(victim.peak_test_acc.toFixed(4)),
  peak_epoch: victim.peak_epoch,
  ...(variant ? { variant } : {}),
  precision: process.env.PRECISION ?? "fp32",
  victim_precision: victim.precision ?? "fp32",
  // subset: the first N images the victim trained on (and, unless release_images says otherwise, that were crafted)
  ...(process.env.VICTIM_SUBSET || process.env.SUBSET
    ? { subset: Number(process.env.VICTIM_SUBSET || process.env.SUBSET) }
    : {}),
  ...(process.env.VICTIM_SUBSET && recipe !== "clean"
    ? { release_images: process.env.SUBSET ? Number(process.env.SUBSET) : 60000 }
    : {}),
  ...(process.env.RELEASE_FROM ? { release: process.env.RELEASE_FROM } : {}),
  settings: JSON.parse(settingsJson),
  attack_success: craft ? Number(craft.attack_success.toFixed(4)) : null,
  // error-min: the rounds it ran (the stop rule or the cap ended it) and its model's accuracy on the poisons then.
  ...(craft?.rounds
    ? { rounds: craft.rounds.length, min_min_acc: Number(craft.rounds.at(-1).accuracy.toFixed(4)) }
    : {}),
  craft_seconds: craft ? Math.round(craft.seconds) : null,
  victim_seconds: Math.round(victim.seconds),
  command,
  date: new Date().toISOString().slice(0, 10),
};
const key = (r) => `${r.recipe}|${r.eps}|${r.variant ?? ""}`;
const kept = rows.filter((r) => key(r) !== key(row));
kept.push(row);
writeFileSync(`${file}.tmp`, `${JSON.stringify(kept, null, 2)}\n`);
renameSync(`${file}.tmp`, file);
console.log(JSON.stringify(row));
