#!/usr/bin/env bash
# The efficacy table of issue "crafting" on the real Fashion-MNIST (full 60k training set): a SmallCNN-BN
# crafting model (3 epochs), poisons at eps 8 and 16 (40 PGD steps of 0.1*eps, randn init, shift+flip
# augmentation, 1 restart), and a fresh SmallCNN-BN victim trained 5 epochs (crop+flip) on each release.
# Rows go to results/fashion-mnist.json. Usage: scripts/experiments/fashion-mnist-efficacy.sh [RECIPE...]
# Environment: EPS_LIST ("8 16"), RUNS_DIR (runs/fashion-mnist), and for variants ("push lower" runs)
# CRAFTER_EPOCHS (3), STEPS (40), RESTARTS (1), VARIANT (a name for the rows and directories);
# baselines: EM_STEPS (10 per round), EM_ROUNDS (2), TC_STEPS (3), TC_TAU (0.5), all cut from the published
# settings (20 steps, up to 10 rounds; 100 steps) to fit 60k images on 2 CPU cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
cli="node dist/src/cli/main.js"
runs=${RUNS_DIR:-runs/fashion-mnist}
recipes=("$@")
[ ${#recipes[@]} -gt 0 ] || recipes=(clean targeted random untargeted error-min tensorclog)
crafter_epochs=${CRAFTER_EPOCHS:-3}
crafter="$runs/crafter"
[ "$crafter_epochs" = 3 ] || crafter="$runs/crafter-${crafter_epochs}ep"
steps=${STEPS:-40}
restarts=${RESTARTS:-1}
variant=${VARIANT:-}
suffix=${variant:+-$variant}
mkdir -p "$runs"

victim() { # victim NAME DATASET -> JSON line
  $cli train --dataset "$2" --model smallcnn-bn --recipe fast --epochs 5 --seed 1 --out "$runs/victim-$1" --force --json | tail -n 1
}
record() { # record RECIPE EPS STEPS SETTINGS_JSON VICTIM_JSON CRAFT_JSON
  node scripts/experiments/record.mjs results/fashion-mnist.json "$1" "$2" "$3" "$4" "$5" "${6:-null}" \
    "$variant" "$(env | grep -E '^(CRAFTER_EPOCHS|STEPS|RESTARTS|VARIANT|EM_STEPS|EM_ROUNDS|TC_STEPS|TC_TAU)=' | sort | tr '\n' ' ')scripts/experiments/fashion-mnist-efficacy.sh $1"
}

if [ ! -f "$crafter/model.safetensors" ]; then
  $cli train --model smallcnn-bn --recipe fast --epochs "$crafter_epochs" --seed 0 --out "$crafter" --force --json | tail -n 1
fi
for recipe in "${recipes[@]}"; do
  if [ "$recipe" = clean ]; then
    record clean 0 0 '{}' "$(victim clean fashion-mnist)"
    continue
  fi
  case "$recipe" in
    error-min) # trains its own model from scratch: no crafter
      s=${EM_STEPS:-10}; args=(--steps "$s" --em-max-rounds "${EM_ROUNDS:-2}")
      settings="{\"tau\":0.1,\"init\":\"uniform\",\"rounds\":${EM_ROUNDS:-2},\"train_steps\":10,\"mode\":\"sample\"}" ;;
    tensorclog)
      s=${TC_STEPS:-3}; args=(--steps "$s" --tau "${TC_TAU:-0.5}" --crafter "$crafter/model.safetensors")
      settings="{\"tau\":${TC_TAU:-0.5},\"init\":\"zero\",\"batch\":128,\"crafter_epochs\":$crafter_epochs}" ;;
    random) # uniform noise in the ball: no steps, no model
      s=0; args=(); settings='{"noise":"uniform"}' ;;
    *)
      s=$steps; args=(--steps "$s" --tau 0.1 --init randn --restarts "$restarts" --crafter "$crafter/model.safetensors")
      settings="{\"tau\":0.1,\"init\":\"randn\",\"restarts\":$restarts,\"augment\":true,\"crafter_epochs\":$crafter_epochs}" ;;
  esac
  for eps in ${EPS_LIST:-8 16}; do
    name="$recipe-eps$eps$suffix"
    craft=$($cli craft --recipe "$recipe" --eps "$eps" "${args[@]}" --out "$runs/release-$name" --force --json | tail -n 1)
    record "$recipe" "$eps" "$s" "$settings" "$(victim "$name" "fashion-mnist:$runs/release-$name")" "$craft"
  done
done
