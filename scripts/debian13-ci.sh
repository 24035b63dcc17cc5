#!/usr/bin/env bash
# Debian 13 (trixie, libtorch 2.6) in CI, from a Debian 12 (or 13) machine, as root: builds a minimal trixie chroot
# with debootstrap (Debian's default mirror), runs the README's setup (`bash scripts/setup.sh`: Debian's nodejs, npm,
# libtorch-dev 2.6, ...) and the test suite (`npm test`) inside with CI=true, and prints one summary line:
#   debian13: libtorch 2.6.0, node v20.19.2, N tests, P passed, F failed, S seconds
# Exits non-zero when the setup or a test fails. .ci/run runs it after the main suite.
#
# What runs inside is what is committed (a `git clone` of this checkout's HEAD); `--worktree` copies the working tree
# instead (tracked and untracked files, not what .gitignore ignores), for trying changes before committing them.
# Environment: DEBIAN13_DIR (work directory, default /var/tmp/advpoison-debian13), DEBIAN13_MIRROR (default
# http://deb.debian.org/debian), DEBIAN13_TIMEOUT (seconds for setup + tests inside, default 3300 = 55 min:
# CI's 90 minutes less its first suite),
# ADVPOISON_THREADS (passed in when set), DEBIAN13_ONEDNN_ISA (see below). The debootstrapped base is kept as
# DIR/trixie-minbase.tar.gz, the downloaded .debs in DIR/apt-archives and npm's cache in DIR/npm-cache, and reused;
# the chroot itself is made afresh every run. The whole log is in DIR/debian13.log.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
work=${DEBIAN13_DIR:-/var/tmp/advpoison-debian13}
mirror=${DEBIAN13_MIRROR:-http://deb.debian.org/debian}
limit=${DEBIAN13_TIMEOUT:-3300}
source_mode=commit
[ "${1:-}" = "--worktree" ] && source_mode=worktree
root="$work/root"
base="$work/trixie-minbase.tar.gz"
log="$work/debian13.log"
start=$(date +%s)

say() { echo "debian13: $*"; }
elapsed() { echo $(($(date +%s) - start)); }

if [ "$(id -u)" -ne 0 ]; then
  say "needs root (debootstrap, chroot, mount): sudo bash scripts/debian13-ci.sh" >&2
  exit 1
fi
mkdir -p "$work"

mounts=(proc sys dev dev/pts dev/shm var/cache/apt/archives root/.npm)
# Stops what still runs inside (e.g. a redis-server a killed test left), then unmounts, innermost first.
cleanup() {
  local pid i
  for pid in $(ls /proc | grep -E '^[0-9]+$'); do
    [ "$(readlink "/proc/$pid/root" 2>/dev/null)" = "$root" ] && kill -9 "$pid" 2>/dev/null || true
  done
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    if mountpoint -q "$root/${mounts[i]}"; then umount "$root/${mounts[i]}" 2>/dev/null || umount -l "$root/${mounts[i]}"; fi
  done
}
mounted_inside() { grep -q " $root/" /proc/mounts; }
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'say "failed at line $LINENO of scripts/debian13-ci.sh ($(elapsed) seconds)" >&2' ERR

# A fresh chroot from the cached base, or from debootstrap (about a minute) when there is none.
cleanup
if mounted_inside; then
  say "something is still mounted under $root; not removing it" >&2
  exit 1
fi
rm -rf --one-file-system "$root"
mkdir -p "$root"
if [ -s "$base" ]; then
  say "chroot from the cached base $base"
  tar -xzf "$base" -C "$root"
else
  command -v debootstrap >/dev/null || {
    say "installing debootstrap"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  }
  say "debootstrap --variant=minbase trixie from $mirror"
  if ! debootstrap --variant=minbase trixie "$root" "$mirror" >"$work/debootstrap.log" 2>&1; then
    tail -20 "$work/debootstrap.log" >&2
    say "debootstrap failed ($(elapsed) seconds; log: $work/debootstrap.log)" >&2
    exit 1
  fi
  tar -czf "$base.tmp" -C "$root" . && mv "$base.tmp" "$base"
fi

# The host's name resolution, CA bundle and npm registry settings, so that apt and npm inside reach their servers as
# the host does.
cp /etc/resolv.conf "$root/etc/resolv.conf"
mkdir -p "$root/etc/ssl"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/host-ca-certificates.crt"
{
  registry=https://registry.npmjs.org/
  command -v npm >/dev/null && registry=$(npm config get registry)
  echo "registry=$registry"
  echo "cafile=/etc/ssl/host-ca-certificates.crt"
  for key in proxy https-proxy noproxy; do
    value=$(command -v npm >/dev/null && npm config get "$key" 2>/dev/null || true)
    [ -n "$value" ] && [ "$value" != "null" ] && [ "$value" != "undefined" ] && echo "$key=$value"
  done
  echo "audit=false"
  echo "fund=false"
  echo "update-notifier=false"
} >"$root/root/.npmrc"

mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --bind /dev "$root/dev"
# Private, so that what is mounted on it (pts, shm) does not propagate to the host's /dev where / is a shared mount.
mount --make-private "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
mount -t tmpfs -o size=4g,mode=1777 tmpfs "$root/dev/shm"
# Downloads kept between runs: Debian's packages (about 1 GB) and npm's.
mkdir -p "$work/apt-archives" "$work/npm-cache" "$root/var/cache/apt/archives" "$root/root/.npm"
mount --bind "$work/apt-archives" "$root/var/cache/apt/archives"
mount --bind "$work/npm-cache" "$root/root/.npm"

dest="$root/root/advpoison"
if [ "$source_mode" = commit ]; then
  git clone --quiet --no-hardlinks "$repo" "$dest"
  say "repository: $(git -C "$dest" log -1 --format='%h %s' | cut -c1-80)"
else
  mkdir -p "$dest"
  git -C "$repo" ls-files -z --cached --others --exclude-standard | (cd "$repo" && tar --null -T - -cf -) | tar -xf - -C "$dest"
  say "repository: the working tree of $repo"
fi

inside=(env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 CI=true
  TERM=dumb)
for v in ADVPOISON_THREADS http_proxy https_proxy no_proxy; do
  [ -n "${!v:-}" ] && inside+=("$v=${!v}")
done
# Debian 13's oneDNN (3.7, under libtorch 2.6) sizes its kernels by the CPU's cache topology (cpuid leaf 0x8000001D
# on AMD, 4 on Intel). Where a virtual machine reports none (then Linux has no /sys/devices/system/cpu/cpu0/cache),
# its AVX2 and AVX-512 convolutions compute wrong values (bf16 conv2d off by ~4) and a 1x1 stride-2 convolution's
# backward dies of SIGFPE: in python3-torch 2.6 as in advpoison. There the tests run on its SSE4.1 kernels.
# DEBIAN13_ONEDNN_ISA sets ONEDNN_MAX_CPU_ISA instead (empty: no cap).
onednn_isa=${DEBIAN13_ONEDNN_ISA-auto}
if [ "$onednn_isa" = auto ]; then
  onednn_isa=""
  [ -d /sys/devices/system/cpu/cpu0/cache ] || onednn_isa=SSE41
fi
isa_note=""
if [ -n "$onednn_isa" ]; then
  inside+=("ONEDNN_MAX_CPU_ISA=$onednn_isa")
  isa_note=", ONEDNN_MAX_CPU_ISA=$onednn_isa"
  say "ONEDNN_MAX_CPU_ISA=$onednn_isa inside (this CPU reports no cache topology; DEBIAN13_ONEDNN_ISA= for none)"
fi
say "setup and tests inside (log: $log; at most $limit seconds)"
set +e
timeout --kill-after=30 "$limit" chroot "$root" "${inside[@]}" bash -c \
  'cd /root/advpoison && bash scripts/setup.sh && echo "debian13-marker: setup ok" && nice -n 10 npm test' 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

libtorch=$(chroot "$root" dpkg-query -W -f='${Version}' libtorch-dev 2>/dev/null | sed 's/+.*//' || true)
node=$(chroot "$root" node -v 2>/dev/null || true)
count() { grep -E "^# $1 [0-9]+" "$log" | tail -1 | awk '{print $3}' || true; }
tests=$(count tests) pass=$(count pass) fail=$(count fail)
summary="libtorch ${libtorch:-none}, node ${node:-none}, ${tests:-0} tests, ${pass:-0} passed, ${fail:-0} failed, $(elapsed) seconds$isa_note"
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  say "$summary; timed out after $limit seconds"
elif ! grep -q "^debian13-marker: setup ok" "$log"; then
  say "$summary; setup failed (exit $status)"
elif [ -z "$tests" ]; then
  say "$summary; npm test failed before the tests ran (exit $status)"
else
  say "$summary"
fi
exit "$status"
