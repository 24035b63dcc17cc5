#!/usr/bin/env bash
# Runs `advpoison experiment NAME` at its scaled-down default for every NAME given (default: all six), all
# sharing one crafting model (trained once, as each experiment would: SmallCNN-BN, fast recipe, 2 epochs,
# seed 0, all 60k images), then gathers their summaries into results/experiments.json.
# Resumable: a second run reuses every finished unit. Environment: RUNS_DIR (runs), ADVPOISON_THREADS (every core,
# as advpoison's default; recorded with each experiment, so resume only units made with the same count).
set -euo pipefail
cd "$(dirname "$0")/../.."
export ADVPOISON_THREADS=${ADVPOISON_THREADS:-$(nproc)}
cli="node dist/src/cli/main.js"
runs=${RUNS_DIR:-runs}
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(methods eps budget labels transfer defenses)
crafter="$runs/experiments-crafter"
if [ ! -f "$crafter/model.safetensors" ]; then
  $cli train --model smallcnn-bn --recipe fast --epochs 2 --seed 0 --out "$crafter" --force --json | tail -n 1
fi
for name in "${names[@]}"; do
  $cli experiment "$name" --crafter "$crafter/model.safetensors" --out "$runs/experiment-$name" --json | tail -n 1 |
    cut -c 1-200
done
node scripts/experiments/collect.mjs results/experiments.json "$runs" "${names[@]}"
