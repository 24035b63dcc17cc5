// Adds (or replaces) one row of an efficacy table: results file, recipe, eps, steps, victim JSON, craft JSON, command.
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";

const [file, recipe, eps, steps, victimJson, craftJson, command] = process.argv.slice(2);
const victim = JSON.parse(victimJson);
const craft = JSON.parse(craftJson);
const rows = existsSync(file) ? JSON.parse(readFileSync(file, "utf-8")) : [];
const row = {
  recipe,
  eps: Number(eps),
  steps: Number(steps),
  budget: 1,
  victim: "smallcnn-bn",
  victim_epochs: victim.epochs,
  test_acc: Number(victim.test_acc.toFixed(4)),
  attack_success: craft ? Number(craft.attack_success.toFixed(4)) : null,
  craft_seconds: craft ? Math.round(craft.seconds) : null,
  victim_seconds: Math.round(victim.seconds),
  command,
  date: new Date().toISOString().slice(0, 10),
};
const kept = rows.filter((r) => !(r.recipe === row.recipe && r.eps === row.eps && r.steps === row.steps));
kept.push(row);
writeFileSync(`${file}.tmp`, `${JSON.stringify(kept, null, 2)}\n`);
renameSync(`${file}.tmp`, file);
console.log(JSON.stringify(row));
