#!/usr/bin/env bash
# Sets up advpoison on Debian 12 (as root, or with sudo): libtorch and the data from Debian, then the npm
# dependencies, the libtorch addon and the TypeScript build. Safe to run again: it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libtorch-dev libopenblas0-openmp dataset-fashion-mnist python3-torch python3-torchvision python3-pil chromium redis-server)
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

echo "advpoison setup: npm ci (builds the libtorch addon unless it is up to date; a few minutes the first time)"
npm ci --no-audit --no-fund
echo "advpoison setup: compiling TypeScript"
npm run --silent build
echo "advpoison setup: done (libtorch $(node -e 'import("./dist/src/torch/index.js").then(t => console.log(t.torchVersion))'))"
