#!/usr/bin/env bash
# Sets up advpoison on Debian 12 (bookworm) or 13 (trixie), as root or with sudo: libtorch, the build tools and the
# test dependencies from Debian, Node from Debian where the release's is new enough (>= 20.10: Debian 13), then the
# npm dependencies, the libtorch addon and the TypeScript build. Safe to run again: it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "advpoison setup: $*"; }

# Node >= 20.10 (package.json "engines"), with npm.
node_ok() {
  command -v node >/dev/null && command -v npm >/dev/null &&
    node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 10) ? 0 : 1)'
}
node_found() { command -v node >/dev/null && echo "node $(node -v)" || echo "no node"; }

os_id="" os_version="" os_codename="" os_name="this system"
if [ -r /etc/os-release ]; then
  # shellcheck disable=SC1091
  os_id=$(. /etc/os-release && echo "${ID:-}")
  os_version=$(. /etc/os-release && echo "${VERSION_ID:-}")
  os_codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  os_name=$(. /etc/os-release && echo "${PRETTY_NAME:-$ID}")
fi

# What every supported release needs: libtorch and OpenBLAS, a C++17 compiler, make and python3 for node-gyp, the
# Fashion-MNIST data, and for the tests python3-torch/torchvision/PIL (independent references), chromium (renders the
# HTML report) and redis-server (the crafting queue). The names are the same in Debian 12 and 13.
packages=(libtorch-dev libopenblas0-openmp dataset-fashion-mnist python3-torch python3-torchvision python3-pil
  chromium redis-server g++ make python3 ca-certificates)
release="$os_id ${os_version:-$os_codename}"
case "$os_id:${os_version:-}:${os_codename:-}" in
  debian:12:* | debian::bookworm)
    release="Debian 12"
    # Debian 12's nodejs is 18, too old: Node must come from elsewhere.
    if ! node_ok; then
      say "Debian 12 needs Node >= 20.10 with npm from elsewhere (found $(node_found); Debian 12's nodejs is 18): install Node 20 or newer, e.g. from NodeSource (https://deb.nodesource.com, node_20.x) or with nvm, then run this again" >&2
      exit 1
    fi
    ;;
  debian:13:* | debian::trixie)
    release="Debian 13"
    # Debian 13's nodejs is 20.19 with npm 9; a newer node already on PATH is used as it is.
    node_ok || packages+=(nodejs npm)
    ;;
  *)
    say "supported on Debian 12 and 13 only, not on $os_name: install Node >= 20.10 with npm, g++ (C++17), make, python3, libtorch 1.13 or 2.x (the distribution's, or LIBTORCH=DIR: a libtorch zip or a PyTorch 2.x torch directory), and for the tests python3 with torch, torchvision and PIL, chromium, redis-server and Fashion-MNIST's IDX files in /usr/share/datasets/fashion-mnist, then run npm ci && npm run build" >&2
    exit 1
    ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "$release: installing Debian packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! node_ok; then
  say "$release: Node >= 20.10 with npm is still missing (found $(node_found))" >&2
  exit 1
fi

say "$release, node $(node -v), npm $(npm -v): npm ci (builds the libtorch addon unless it is up to date; a few minutes the first time)"
npm ci --no-audit --no-fund
say "compiling TypeScript"
npm run --silent build
say "done (libtorch $(node -e 'import("./dist/src/torch/index.js").then(t => console.log(t.torchVersion))'))"
