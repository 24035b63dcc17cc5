#!/usr/bin/env bash
# Sets up advpoison on Debian 12 (as root, or with sudo): libtorch and the data from Debian, then the npm
# dependencies, the libtorch addon and the TypeScript build. Safe to run again: it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libtorch-dev libopenblas0-openmp dataset-fashion-mnist python3-torch chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "advpoison setup: installing Debian packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -f build/Release/advpoison_torch.node ] || [ package-lock.json -nt build/Release/advpoison_torch.node ] ||
  [ -n "$(find native binding.gyp -newer build/Release/advpoison_torch.node 2>/dev/null)" ]; then
  echo "advpoison setup: npm ci (builds the libtorch addon; a few minutes)"
  npm ci --no-audit --no-fund
else
  npm ci --no-audit --no-fund --ignore-scripts
fi
echo "advpoison setup: compiling TypeScript"
npm run --silent build
echo "advpoison setup: done (libtorch $(node -e 'import("./dist/src/torch/index.js").then(t => console.log(t.torchVersion))'))"
