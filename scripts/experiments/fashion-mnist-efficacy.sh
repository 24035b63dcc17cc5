#!/usr/bin/env bash
# The efficacy table on the real Fashion-MNIST (full 60k training set unless SUBSET): a SmallCNN-BN crafting
# model (3 epochs), poisons at eps 8 and 16 (40 PGD steps of 0.1*eps, randn init, shift+flip augmentation,
# 1 restart), and a fresh SmallCNN-BN victim trained 5 epochs (crop+flip) on each release.
# Rows go to results/fashion-mnist.json. Usage: scripts/experiments/fashion-mnist-efficacy.sh [METHOD...]
# Environment: EPS_LIST ("8 16"), RUNS_DIR (runs/fashion-mnist), and for variants ("push lower" runs)
# CRAFTER_EPOCHS (3), STEPS (40), RESTARTS (1), AUGMENT_KIND (quarter, the rows' original; or authors),
# PRECISION (what the crafting model computes in: fp32 or bf16), VICTIM_PRECISION (the victim's training: fp32
# or bf16), SUBSET (craft the first N images and train the victim on them; crafting models train on all 60k),
# VARIANT (a name for the rows and directories), TAU (0.1, the step as a fraction of eps; the authors' 0.05),
# AUGMENT_KIND also none (--no-augment), CRAFTER_MODELS ("smallcnn-bn": space-separated architectures, an ensemble
# when several; smallcnn-bn is runs/fashion-mnist/crafter, any other ARCH runs/fashion-mnist/crafter-ARCH, trained
# CRAFTER_EPOCHS with the fast recipe and seed 0 when missing), VICTIM_MODEL (smallcnn-bn), VICTIM_EPOCHS (5),
# VICTIM_SEED (1: a second seed measures the victim's own noise), VICTIM_SUBSET (the victim trains on the first N images of the release; default SUBSET), RELEASE_FROM (NAME:
# train the victim on the existing runs/fashion-mnist/release-NAME instead of crafting; its attack success and
# crafting time come from release-NAME.craft.json, so give the env it was crafted with), VICTIM_TRAINER (advpoison;
# or pytorch: scripts/experiments/torch-victim.py, the PyTorch examples' MNIST net and recipe, a victim that owes
# nothing to advpoison; VICTIM_MODEL and VICTIM_PRECISION then do not apply); baselines: EM_STEPS (10 per
# round), EM_ROUNDS (2), TC_STEPS (3), TC_TAU (0.5), the first rows' settings cut from the published ones
# (error-min: 20 steps of eps/10 per round until 99 % on the poisons, EM_STEPS=20 with a round cap EM_ROUNDS;
# TensorClog: TC_STEPS=100 TC_TAU=0.05); error-min's rows record the rounds it took; LSP and OPS run as published
# (no model, no steps), LSP projected to the L-inf ball unless LSP_NORM=l2 (the authors' L2 ball of radius
# eps sqrt(CHW)). ADVPOISON_THREADS (every core, as advpoison's default): the torch threads of every process here,
# PyTorch victims included; rows record it and the victim's seed.
set -euo pipefail
cd "$(dirname "$0")/../.."
export ADVPOISON_THREADS=${ADVPOISON_THREADS:-$(nproc)}
cli="node dist/src/cli/main.js"
runs=${RUNS_DIR:-runs/fashion-mnist}
recipes=("$@")
[ ${#recipes[@]} -gt 0 ] || recipes=(clean targeted random untargeted error-min tensorclog lsp ops)
precision=${PRECISION:-fp32}
victim_precision=${VICTIM_PRECISION:-fp32}
augment_kind=${AUGMENT_KIND:-quarter}
subset=(); [ -z "${SUBSET:-}" ] || subset=(--subset "$SUBSET")
victim_subset=("${subset[@]}"); [ -z "${VICTIM_SUBSET:-}" ] || victim_subset=(--subset "$VICTIM_SUBSET")
victim_model=${VICTIM_MODEL:-smallcnn-bn}
victim_epochs=${VICTIM_EPOCHS:-5}
victim_seed=${VICTIM_SEED:-1}
crafter_epochs=${CRAFTER_EPOCHS:-3}
crafter_models=(${CRAFTER_MODELS:-smallcnn-bn})
crafters=()
for arch in "${crafter_models[@]}"; do
  if [ "$arch" = smallcnn-bn ]; then dir="$runs/crafter"; else dir="$runs/crafter-$arch"; fi
  [ "$crafter_epochs" = 3 ] || dir="$dir-${crafter_epochs}ep"
  crafters+=("$dir")
done
crafter=${crafters[0]}
crafter_args=(); for dir in "${crafters[@]}"; do crafter_args+=(--crafter "$dir/model.safetensors"); done
crafter_names=$(printf '"%s",' "${crafter_models[@]}"); crafter_names="[${crafter_names%,}]"
steps=${STEPS:-40}
tau=${TAU:-0.1}
restarts=${RESTARTS:-1}
augment_args=(--augment-kind "$augment_kind"); [ "$augment_kind" != none ] || augment_args=(--no-augment)
variant=${VARIANT:-}
suffix=${variant:+-$variant}
mkdir -p "$runs"

victim() { # victim NAME DATASET -> JSON line
  if [ "${VICTIM_TRAINER:-advpoison}" = pytorch ]; then # a trainer that owes nothing to advpoison
    local dir=/usr/share/datasets/fashion-mnist; [ "$2" = fashion-mnist ] || dir=${2#fashion-mnist:}
    OMP_NUM_THREADS=$ADVPOISON_THREADS scripts/experiments/torch-victim.py "$dir" "${victim_subset[@]}" --epochs "$victim_epochs" --seed "$victim_seed" | tail -n 1
    return
  fi
  $cli train --dataset "$2" "${victim_subset[@]}" --model "$victim_model" --recipe fast --epochs "$victim_epochs" --seed "$victim_seed" \
    --precision "$victim_precision" --out "$runs/victim-$1" --force --json | tail -n 1
}
record() { # record RECIPE EPS STEPS SETTINGS_JSON VICTIM_JSON CRAFT_JSON
  VICTIM_SEED=$victim_seed node scripts/experiments/record.mjs results/fashion-mnist.json "$1" "$2" "$3" "$4" "$5" "${6:-null}" \
    "$variant" "$(env | grep -E '^(ADVPOISON_THREADS|EPS_LIST|CRAFTER_EPOCHS|CRAFTER_MODELS|STEPS|TAU|RESTARTS|VARIANT|EM_STEPS|EM_ROUNDS|TC_STEPS|TC_TAU|LSP_NORM|AUGMENT_KIND|PRECISION|VICTIM_PRECISION|VICTIM_TRAINER|VICTIM_MODEL|VICTIM_EPOCHS|VICTIM_SEED|VICTIM_SUBSET|SUBSET|RELEASE_FROM)=' | sort | sed -E 's/^([A-Z_]+)=(.* .*)$/\1="\2"/' | tr '\n' ' ')scripts/experiments/fashion-mnist-efficacy.sh $1"
}

needs_crafter= # only the attacks that use a crafting model train the missing ones
for recipe in "${recipes[@]}"; do
  case "$recipe" in clean | random | lsp | ops | error-min) ;; *) needs_crafter=1 ;; esac
done
for i in "${!crafters[@]}"; do
  if [ -n "$needs_crafter" ] && [ ! -f "${crafters[$i]}/model.safetensors" ]; then
    $cli train --model "${crafter_models[$i]}" --recipe fast --epochs "$crafter_epochs" --seed 0 --out "${crafters[$i]}" --force --json | tail -n 1
  fi
done
for recipe in "${recipes[@]}"; do
  if [ "$recipe" = clean ]; then
    record clean 0 0 '{}' "$(victim "clean$suffix" fashion-mnist)"
    continue
  fi
  case "$recipe" in
    error-min) # trains its own model from scratch: no crafter
      s=${EM_STEPS:-10}; args=(--steps "$s" --em-max-rounds "${EM_ROUNDS:-2}")
      settings="{\"tau\":0.1,\"init\":\"uniform\",\"max_rounds\":${EM_ROUNDS:-2},\"train_steps\":10,\"stop_acc\":0.99,\"mode\":\"sample\"}" ;;
    tensorclog)
      s=${TC_STEPS:-3}; args=(--steps "$s" --tau "${TC_TAU:-0.5}" --crafter "$crafter/model.safetensors")
      settings="{\"tau\":${TC_TAU:-0.5},\"init\":\"zero\",\"batch\":128,\"crafter_epochs\":$crafter_epochs}" ;;
    random) # uniform noise in the ball: no steps, no model
      s=0; args=(); settings='{"noise":"uniform"}' ;;
    lsp) # Yu et al.: class-wise linearly separable patches, no model; L-inf ball here (the method's default)
      s=0; norm=${LSP_NORM:-linf}; args=(--lsp-norm "$norm")
      if [ "$norm" = l2 ]; then ball="in their L2 ball of radius eps sqrt(CHW)"; else ball="projected to the L-inf ball"; fi
      settings="{\"norm\":\"$norm\",\"published\":\"Yu et al. 2022 (patch 8, class_sep 10), $ball\"}" ;;
    ops) # Wu et al.: one pixel per class, L0 = 1 (eps does not apply)
      s=0; args=(); settings='{"budget":"L0 = 1 pixel","published":"Wu et al. 2023 (pixel search as APBench)"}' ;;
    *)
      s=$steps; args=(--steps "$s" --tau "$tau" --init randn --restarts "$restarts" "${augment_args[@]}" "${crafter_args[@]}")
      settings="{\"tau\":$tau,\"init\":\"randn\",\"restarts\":$restarts,\"augment\":\"$augment_kind\",\"crafter_epochs\":$crafter_epochs"
      [ "$crafter_names" = '["smallcnn-bn"]' ] || settings="$settings,\"crafters\":$crafter_names"
      settings="$settings}" ;;
  esac
  eps_list=${EPS_LIST:-8 16}
  [ "$recipe" != ops ] || eps_list=255 # one pixel at any value: the plan records 255
  for eps in $eps_list; do
    name="$recipe-eps$eps$suffix"
    release="$name"
    if [ -n "${RELEASE_FROM:-}" ]; then
      release="$RELEASE_FROM"; craft=$(cat "$runs/release-$release.craft.json")
    else
      craft=$($cli craft --method "$recipe" --eps "$eps" "${subset[@]}" --precision "$precision" "${args[@]}" \
        --out "$runs/release-$name" --force --resume --json | tail -n 1)
      echo "$craft" >"$runs/release-$name.craft.json"
    fi
    record "$recipe" "$eps" "$s" "$settings" "$(victim "$name" "fashion-mnist:$runs/release-$release")" "$craft"
  done
done
