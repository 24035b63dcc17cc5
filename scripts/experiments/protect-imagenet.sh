#!/usr/bin/env bash
# protect with an ImageNet-architecture ResNet-18 crafter (torchvision's layout; no pretrained weights exist offline,
# so it is trained here): a generated 10-class folder dataset (faint gratings whose orientation is the class, under a
# colour field and a disc; SIDE x SIDE, 3000 train / 500 test) trains resnet18-imagenet for CRAFTER_EPOCHS; a generated labelled tree of PHOTOS photos at mixed
# sizes (97x131 to 1200x800, PNG and JPEG) is protected with labels from its class folders, targeted to pi(y), through
# the resize/crop/flip view at the crafter's SIDE px; verify checks the copy. Appends a row to results/protect.json.
# Environment: PHOTOS (40), STEPS (100), VIEWS (4), EPS (8), PRECISION (bf16), CRAFTER_EPOCHS (8), SIDE (64),
# METHOD (targeted), JPEG_QUALITY (95), RUNS_DIR (runs/protect), ADVPOISON_THREADS (every core, as advpoison's
# default; recorded in the row).
set -euo pipefail
cd "$(dirname "$0")/../.."
export ADVPOISON_THREADS=${ADVPOISON_THREADS:-$(nproc)}
cli="node dist/src/cli/main.js"
runs=${RUNS_DIR:-runs/protect}
photos=${PHOTOS:-40}; steps=${STEPS:-100}; views=${VIEWS:-4}; eps=${EPS:-8}; precision=${PRECISION:-bf16}
epochs=${CRAFTER_EPOCHS:-8}; side=${SIDE:-64}
mkdir -p "$runs"
crafter="$runs/crafter-${side}px-${epochs}ep"
if [ ! -f "$crafter/model.safetensors" ]; then
  rm -rf "$runs/gratings"
  node scripts/experiments/make-photo-tree.mjs "$runs/gratings/train" 3000 1 10 "${side}x${side}"
  node scripts/experiments/make-photo-tree.mjs "$runs/gratings/test" 500 2 10 "${side}x${side}"
  $cli train --dataset "folder:$runs/gratings" --model resnet18-imagenet --recipe fast --epochs "$epochs" \
    --precision "$precision" --seed 0 --out "$crafter" --force --json | tail -n 1 > "$crafter.json"
fi
rm -rf "$runs/photos" && node scripts/experiments/make-photo-tree.mjs "$runs/photos" "$photos" 3 10
result=$($cli protect "$runs/photos" --out "$runs/out" --crafter "$crafter/model.safetensors" --input-size "$side" \
  --labels folders --method "${METHOD:-targeted}" --jpeg-quality "${JPEG_QUALITY:-95}" --eps "$eps" --steps "$steps" --views "$views" --precision "$precision" --force --json | tail -n 1)
verify=$($cli verify --protected "$runs/out" --source "$runs/photos" --eps "$eps" --json | tail -n 1)
node -e '
const fs = require("fs");
const [file, crafterJson, result, verify, command] = process.argv.slice(1);
const rows = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : [];
const r = JSON.parse(result);
delete r.out;
const c = JSON.parse(crafterJson);
rows.push({ crafter: `resnet18-imagenet trained ${c.epochs} epochs on generated 10-class gratings`, crafter_test_acc: c.test_acc,
  input_side: Number(process.env.SIDE ?? 64), method: process.env.METHOD ?? "targeted",
  jpeg_quality: Number(process.env.JPEG_QUALITY ?? 95), steps: Number(process.env.STEPS ?? 100), views: Number(process.env.VIEWS ?? 4), ...r,
  verify_ok: JSON.parse(verify).ok, threads: Number(process.env.ADVPOISON_THREADS), command,
  date: new Date().toISOString().slice(0, 10) });
fs.writeFileSync(file + ".tmp", JSON.stringify(rows, null, 2) + "\n"); fs.renameSync(file + ".tmp", file);
console.log(JSON.stringify(rows.at(-1)));
' results/protect.json "$(cat "$crafter.json")" "$result" "$verify" \
  "$(env | grep -E '^(ADVPOISON_THREADS|PHOTOS|STEPS|VIEWS|EPS|PRECISION|CRAFTER_EPOCHS|SIDE|METHOD|JPEG_QUALITY)=' | sort | tr '\n' ' ')scripts/experiments/protect-imagenet.sh"
