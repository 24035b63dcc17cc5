#!/usr/bin/env bash
# The efficacy table of issue "crafting" on the real Fashion-MNIST (full 60k training set): a SmallCNN-BN
# crafting model (3 epochs), poisons at eps 8 and 16 (40 PGD steps of 0.1*eps, randn init, shift+flip
# augmentation, 1 restart), and a fresh SmallCNN-BN victim trained 5 epochs (crop+flip) on each release.
# Rows go to results/fashion-mnist.json. Usage: scripts/experiments/fashion-mnist-efficacy.sh [RECIPE...]
set -euo pipefail
cd "$(dirname "$0")/../.."
cli="node dist/src/cli/main.js"
runs=${RUNS_DIR:-runs/fashion-mnist}
recipes=("$@")
[ ${#recipes[@]} -gt 0 ] || recipes=(clean targeted random untargeted)
mkdir -p "$runs"

victim() { # victim NAME DATASET -> JSON line
  $cli train --dataset "$2" --model smallcnn-bn --recipe fast --epochs 5 --seed 1 --out "$runs/victim-$1" --force --json | tail -n 1
}
record() { # record RECIPE EPS STEPS VICTIM_JSON CRAFT_JSON
  node scripts/experiments/record.mjs results/fashion-mnist.json "$1" "$2" "$3" "$4" "${5:-null}" \
    "scripts/experiments/fashion-mnist-efficacy.sh $1"
}

if [ ! -f "$runs/crafter/model.safetensors" ]; then
  $cli train --model smallcnn-bn --recipe fast --epochs 3 --seed 0 --out "$runs/crafter" --force --json | tail -n 1
fi
for recipe in "${recipes[@]}"; do
  if [ "$recipe" = clean ]; then
    record clean 0 0 "$(victim clean fashion-mnist)"
    continue
  fi
  for eps in ${EPS_LIST:-8 16}; do
    release="$runs/release-$recipe-eps$eps"
    craft=$($cli craft --recipe "$recipe" --eps "$eps" --steps 40 --tau 0.1 --init randn --restarts 1 \
      --crafter "$runs/crafter/model.safetensors" --out "$release" --force --json | tail -n 1)
    record "$recipe" "$eps" 40 "$(victim "$recipe-eps$eps" "fashion-mnist:$release")" "$craft"
  done
done
