#!/bin/bash
# A refactor's proof: runs the same small jobs with two built checkouts (each with dist/, build/, node_modules/)
# on this machine and compares what they write. Releases must have the same files and bytes, manifests the same
# content but their timestamps and timings, trained models the same tensors, experiment and audit rows the same
# numbers. Floats differ between CPUs, so only two builds run here, one after the other, can be compared.
#
#   bash scripts/compare-outputs.sh OLD_CHECKOUT NEW_CHECKOUT [WORK_DIR]
#
# Fashion-MNIST must be installed (scripts/setup.sh). About 10 minutes on 2 cores at one thread.
set -euo pipefail
old=$(realpath "$1")
new=$(realpath "$2")
work=${3:-$(mktemp -d /tmp/advpoison-compare-XXXX)}
export ADVPOISON_THREADS=${ADVPOISON_THREADS:-1}

# Photos (PNG and JPEG, two class folders) and an untrained crafting model for protect, made once for both runs.
mkdir -p "$work/photos/cat" "$work/photos/dog"
(cd "$new" && node --input-type=module - "$work" <<'JS'
import sharp from "sharp";
import { createModel, saveModel } from "./dist/src/models/index.js";
import { manualSeed } from "./dist/src/torch/index.js";
const work = process.argv[2];
for (const [k, rel] of ["cat/a.png", "dog/b.jpg", "dog/c.png"].entries()) {
  const [w, h] = [48 + 8 * k, 40];
  const px = Buffer.alloc(w * h * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i * (7 + k) + ((i / 3) | 0) * 13) % 251;
  const img = sharp(px, { raw: { width: w, height: h, channels: 3 } });
  await (rel.endsWith(".png") ? img.png() : img.jpeg({ quality: 90 })).toFile(`${work}/photos/${rel}`);
}
manualSeed(0);
const spec = { model: "smallcnn-bn", inChannels: 3, numClasses: 2, imageSize: 32 };
saveModel(`${work}/photo-crafter.safetensors`, createModel(spec.model, spec), spec);
JS
)

jobs() { # checkout out
  local cli="node $1/dist/src/cli/main.js" out=$2
  mkdir -p "$out"
  # In the checkout: each build reads its own experiments/*.json.
  cd "$1"
  $cli train --subset 2000 --epochs 1 --seed 3 --out "$out/train" --json > "$out/train.json"
  $cli craft --subset 1000 --method targeted --eps 16 --steps 3 --tau 0.1 --train-crafter --crafter-epochs 1 \
    --out "$out/targeted" --json > "$out/targeted.json"
  $cli craft --subset 600 --method error-min --eps 8 --steps 2 --em-max-rounds 1 --em-train-steps 2 \
    --chunk-size 200 --out "$out/error-min" --json > "$out/error-min.json"
  $cli experiment methods --subset 600 --test-subset 500 --methods clean,random,targeted --runs 1 --steps 2 \
    --victim-epochs 1 --crafter-epochs 1 --out "$out/methods" --json > "$out/methods.json"
  $cli audit --release "$out/targeted" --source fashion-mnist --defenses none,bdr:2,mixup --epochs 1 \
    --test-subset 500 --out "$out/audit" --json > "$out/audit.json"
  $cli protect "$work/photos" --out "$out/protected" --crafter "$work/photo-crafter.safetensors" --input-size 32 \
    --steps 3 --views 2 --eps 8 --json > "$out/protect.json"
}

echo "old: $old"
jobs "$old" "$work/old"
echo "new: $new"
jobs "$new" "$work/new"

node --input-type=module - "$work/old" "$work/new" <<'EOF'
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
const [oldDir, newDir] = process.argv.slice(2);
// Written at run time, not by the computation: dates, timings, the machine's thread count, paths.
const VOLATILE = /^(created|updated|finished|date|seconds|victim_seconds|crafting_seconds|elapsed_s|img_per_s|threads|command|dir|out|results|report|audit_json|path|.*_seconds)$/;
// A poison's method was called `recipe` in results and configs before 0.2: compared under one name.
const renamed = (k) => (k === "recipe" ? "method" : k);
const strip = (v) =>
  Array.isArray(v)
    ? v.map(strip)
    : v && typeof v === "object"
      ? Object.fromEntries(
          Object.entries(v)
            .filter(([k]) => !VOLATILE.test(k))
            .map(([k, x]) => [renamed(k), strip(x)]),
        )
      : typeof v === "string"
        ? v.replaceAll(oldDir, "").replaceAll(newDir, "")
        : v;
const files = (d) =>
  readdirSync(d, { recursive: true })
    .map(String)
        // Rendered views of the results (their column names changed with the rename), not results.
    .filter((f) => statSync(join(d, f)).isFile() && !/(\.html|\.csv|report\.json)$/.test(f))
    .sort();
const digest = (f) => {
  const bytes = readFileSync(f);
  if (f.endsWith(".json")) {
    // A file of JSON, or a command's --json output whose last line is the JSON.
    const text = bytes.toString("utf8");
    let value;
    try {
      value = JSON.parse(text);
    } catch {
      value = JSON.parse(text.trim().split("\n").at(-1));
    }
    return JSON.stringify(strip(value));
  }
  if (f.endsWith(".safetensors")) {
    // The tensors, not the header: model files record the test accuracy and the dataset as metadata.
    const n = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + n));
    delete header.__metadata__;
    return createHash("sha256").update(JSON.stringify(header)).update(bytes.subarray(8 + n)).digest("hex");
  }
  return createHash("sha256").update(bytes).digest("hex");
};
const a = files(oldDir);
const b = files(newDir);
let differ = 0;
for (const f of new Set([...a, ...b])) {
  const same = a.includes(f) && b.includes(f) && digest(join(oldDir, f)) === digest(join(newDir, f));
  if (!same) {
    differ++;
    console.log(`differs: ${f}`);
  }
}
console.log(JSON.stringify({ files: a.length, files_differ: differ }));
process.exit(differ === 0 ? 0 : 1);
EOF
