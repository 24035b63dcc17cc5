// The most of any perturbation within eps that bit-depth reduction can pass, from the clean images alone: a value
// v keeps its level under `bits` bits unless v + eps or v - eps (clipped to 0..255) lies on another level, so the
// share of values within eps of a threshold bounds the share an eps-ball release can change after posterizing,
// however it was crafted. The audit's survival table gives what each release does change.
// Arguments: an IDX image file (.gz or not; default Fashion-MNIST's training images) and the first n images (all).
// Prints a JSON list, one row per (bits, eps) for bits 2, 3 and eps 8, 16, each with the command that made it:
// results/posterize-reach.json is `node scripts/experiments/posterize-reach.mjs > results/posterize-reach.json`.
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";

const [file = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", first] = process.argv.slice(2);
const raw = readFileSync(file);
const idx = raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
if (idx.readUInt32BE(0) !== 0x803) {
  console.error(`posterize-reach: ${file} is not an IDX file of unsigned bytes`);
  process.exit(1);
}
const count = Math.min(idx.readUInt32BE(4), first === undefined ? Number.POSITIVE_INFINITY : Number(first));
const size = idx.readUInt32BE(8) * idx.readUInt32BE(12);
const values = idx.subarray(16, 16 + count * size);
const command = ["node scripts/experiments/posterize-reach.mjs", ...process.argv.slice(2)].join(" ");
const date = new Date().toISOString().slice(0, 10);
const rows = [];
for (const bits of [2, 3])
  for (const eps of [8, 16]) {
    const step = 2 ** (8 - bits);
    const level = (v) => Math.floor(Math.min(255, Math.max(0, v)) / step);
    let reachable = 0;
    let zero = 0;
    for (const v of values) {
      if (level(v + eps) !== level(v) || level(v - eps) !== level(v)) reachable++;
      if (v === 0) zero++;
    }
    const share = (n) => Number((n / values.length).toFixed(4));
    rows.push({ images: count, bits, eps, reachable: share(reachable), black: share(zero), command, date });
  }
console.log(JSON.stringify(rows, null, 2));
