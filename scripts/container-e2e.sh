#!/usr/bin/env bash
# The crafting queue across containers, with podman, as root: builds the image of deploy/Containerfile, starts a
# Redis container (append-only file on a volume) and two worker containers that share a volume at /shared, trains a
# small crafting model and enqueues a targeted craft of Fashion-MNIST's first E2E_IMAGES images in a container,
# SIGKILLs one worker while it crafts a chunk and starts another, waits for the release the workers write, crafts
# the same plan in one process in the same image, and compares every file of the two releases (manifest.json
# without the fields that name the time and the place: created, crafting_seconds, release). The containers run as
# the image's non-root user with a read-only root filesystem; /shared is all they write. Every container and
# volume it makes is removed at exit; the images are kept (a second run reuses their layers).
# Last line of output: {"image", "image_mb", "workers", "killed", "files_differ", "seconds"}. Exit status 0 only
# when the release is there and no file differs.
#
# No registry is reachable here, so the base image (docker.io/library/debian:trixie, as the Containerfile names
# it) is imported from a debootstrap minbase tarball when podman does not have it: E2E_BASE_TARBALL, by default the
# one scripts/debian13-ci.sh keeps (made with debootstrap when missing). Where they exist, that script's apt and
# npm caches feed the build through overlay mounts (read-only to them). Other settings: E2E_IMAGES (4000),
# E2E_STEPS (40), E2E_CHUNK (250), E2E_IMAGE (localhost/advpoison:e2e), E2E_TIMEOUT (seconds for the queued
# craft, 3600), E2E_OUT (a file to append the result to as one JSON line, with the date, the CPU, the command and
# the times of the build, the queued craft and the one-process craft: results/container-e2e.json).
set -euo pipefail
cd "$(dirname "$0")/.."

# This machine's podman (a Debian 12 VM: cgroup v1, crun unusable, low hard limits), all in one place and none of it
# in the Containerfile: podman's global flags, then `--`, then the flags of every build and run. Where podman's
# defaults work: E2E_PODMAN="--".
E2E_PODMAN=${E2E_PODMAN---runtime runc --cgroup-manager cgroupfs -- --ulimit nofile=1024:1024 --ulimit nproc=1000:1000}
read -ra quirks <<<"$E2E_PODMAN"
global=() each=()
for ((k = 0; k < ${#quirks[@]}; k++)); do
  [ "${quirks[k]}" = "--" ] && { each=("${quirks[@]:k+1}"); break; }
  global+=("${quirks[k]}")
done
pm() { podman "${global[@]}" "$@"; }

base=docker.io/library/debian:trixie
cache=${DEBIAN13_DIR:-/var/tmp/advpoison-debian13}
tarball=${E2E_BASE_TARBALL:-$cache/trixie-minbase.tar.gz}
image=${E2E_IMAGE:-localhost/advpoison:e2e}
redis_image=localhost/advpoison-e2e-redis:latest
images=${E2E_IMAGES:-4000} steps=${E2E_STEPS:-40} chunk=${E2E_CHUNK:-250} limit=${E2E_TIMEOUT:-3600}
tag=advpoison-e2e-$$
shared_vol=$tag-shared redis_vol=$tag-redis
start=$(date +%s)

say() { echo "container-e2e: $*" >&2; }
elapsed() { echo $(($(date +%s) - start)); }
fail() {
  say "$* ($(elapsed) s)"
  exit 1
}

containers=()
cleanup() {
  local c
  for c in "${containers[@]}"; do pm rm -f -t 0 "$c" >/dev/null 2>&1 || true; done
  pm volume rm -f "$shared_vol" "$redis_vol" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

command -v podman >/dev/null || fail "podman is missing (Debian: apt-get install -y podman runc)"
[ "$(id -u)" -eq 0 ] || fail "run it as root (podman's storage and the base image import)"

# The base image, as `podman pull` would give it elsewhere.
if ! pm image exists "$base"; then
  if [ ! -s "$tarball" ]; then
    command -v debootstrap >/dev/null || fail "no $tarball and no debootstrap to make it (apt-get install -y debootstrap)"
    say "debootstrap --variant=minbase trixie into $tarball"
    dir=$(mktemp -d)
    debootstrap --variant=minbase trixie "$dir" http://deb.debian.org/debian >/dev/null
    mkdir -p "$(dirname "$tarball")"
    tar -czf "$tarball.tmp" -C "$dir" . && mv "$tarball.tmp" "$tarball"
    rm -rf --one-file-system "$dir"
  fi
  say "importing $tarball as $base"
  pm import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --change 'CMD ["bash"]' \
    "$tarball" "$base" >/dev/null
fi

# The build reaches Debian's mirror and npm's registry from the host's network; the host's CA bundle is npm's
# (a TLS-intercepting proxy's CA is in it here), given as a secret, not kept in the image.
build=(--network host "${each[@]}" --secret "id=ca,src=/etc/ssl/certs/ca-certificates.crt")
[ -d "$cache/apt-archives" ] && build+=(-v "$cache/apt-archives:/var/cache/apt/archives:O")
[ -d "$cache/npm-cache" ] && build+=(-v "$cache/npm-cache:/root/.npm:O")
say "building $image from deploy/Containerfile"
t0=$(date +%s)
pm build "${build[@]}" -f deploy/Containerfile -t "$image" . >"${TMPDIR:-/tmp}/$tag-build.log" 2>&1 ||
  { tail -30 "${TMPDIR:-/tmp}/$tag-build.log" >&2; fail "the image build failed (log: ${TMPDIR:-/tmp}/$tag-build.log)"; }
build_s=$(($(date +%s) - t0))
rm -f "${TMPDIR:-/tmp}/$tag-build.log"
image_mb=$(pm image inspect --format '{{.Size}}' "$image" | awk '{printf "%d", $1 / 1e6}')
say "image $image: $image_mb MB, built in $build_s s; runs as uid $(pm run --rm "${each[@]}" --entrypoint id "$image" -u)"

# Redis from Debian in the same base (deploy/compose.yaml uses the official redis image, which no registry here
# serves).
empty=$(mktemp -d)
printf '%s\n' "FROM $base" \
  'RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \' \
  ' && rm -rf /var/lib/apt/lists/* \' \
  ' && mkdir /data && chown redis:redis /data' 'USER redis' 'ENTRYPOINT ["redis-server"]' |
  pm build --network host "${each[@]}" -t "$redis_image" -f - "$empty" >/dev/null
rmdir "$empty"

port=16379
while (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
queue=redis://127.0.0.1:$port
pm volume create "$shared_vol" >/dev/null
pm volume create "$redis_vol" >/dev/null
# Debian 13's oneDNN computes wrong values where the CPU reports no cache topology (see scripts/debian13-ci.sh):
# there the containers run its SSE4.1 kernels.
isa=()
[ -d /sys/devices/system/cpu/cpu0/cache ] || isa=(--env ONEDNN_MAX_CPU_ISA=SSE41)
run=(--network host "${each[@]}" --read-only -v "$shared_vol:/shared" --env ADVPOISON_THREADS=1 "${isa[@]}")

containers+=("$tag-redis")
pm run -d --name "$tag-redis" --network host "${each[@]}" -v "$redis_vol:/data" "$redis_image" \
  --port "$port" --bind 127.0.0.1 --dir /data --appendonly yes --save "" >/dev/null
for _ in $(seq 50); do
  pm exec "$tag-redis" redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break
  sleep 0.2
done

advpoison() { pm run --rm "${run[@]}" "$image" "$@"; }
say "training a crafting model ($(elapsed) s)"
advpoison train --dataset fashion-mnist:/usr/share/datasets/fashion-mnist --subset 2000 --epochs 1 \
  --out /shared/crafter --json | tail -1 >&2

workers=0
worker() {
  workers=$((workers + 1))
  containers+=("$tag-$1")
  pm run -d --name "$tag-$1" "${run[@]}" "$image" worker --queue "$queue" --shared /shared --lock-duration 10000 \
    --name "$1" >/dev/null
}
worker w1
worker w2
plan=(craft --dataset fashion-mnist:/usr/share/datasets/fashion-mnist --subset "$images" --crafter
  /shared/crafter/model.safetensors --method targeted --eps 8 --steps "$steps" --chunk-size "$chunk")
say "enqueuing $images images, $steps steps, chunks of $chunk ($(elapsed) s)"
advpoison "${plan[@]}" --queue "$queue" --run e2e --shared /shared --out /shared/releases/e2e --json | tail -1 >&2

status() { advpoison queue status "$queue" --run e2e --json | tail -1; }
# The run's state: the first "state" of queue status's JSON (the run's own; its keys come in a fixed order).
state() { grep -o '"state":"[a-z]*"' | head -1 | cut -d'"' -f4; }

# The kill: once w1 has crafted a chunk, it dies with its next one in hand (more chunks started than finished).
in_hand() {
  local log
  log=$(pm logs "$tag-w1" 2>&1)
  [ "$(grep -c 'crafted in' <<<"$log")" -ge 1 ] &&
    [ "$(grep -c ': started' <<<"$log")" -gt "$(grep -c -E 'crafted in|already on the shared disk' <<<"$log")" ]
}
t0=$(date +%s)
until in_hand; do
  [ $(($(date +%s) - t0)) -lt "$limit" ] || fail "w1 had no chunk in hand after crafting one in $limit s"
  sleep 0.5
done
pm kill --signal KILL "$tag-w1" >/dev/null
killed=1
say "w1 SIGKILLed during '$(pm logs "$tag-w1" 2>&1 | grep ': started' | tail -1)' with the run $(status | state); starting w3 ($(elapsed) s)"
worker w3

until state=$(status | state) && { [ "$state" = done ] || [ "$state" = failed ]; }; do
  [ $(($(date +%s) - t0)) -lt "$limit" ] || fail "the queued craft did not finish in $limit s"
  sleep 10
done
queued_s=$(($(date +%s) - t0))
say "queue: $(status)"
[ "$state" = done ] || fail "the queued run failed"
say "w1 stalled chunk taken again: $(pm logs "$tag-w2" "$tag-w3" 2>&1 | grep -c 'stalled') stall note(s) in w2/w3's logs"
for w in w2 w3; do pm stop -t 600 "$tag-$w" >/dev/null; done

say "crafting the same plan in one process ($(elapsed) s; the queued craft took $queued_s s)"
t0=$(date +%s)
advpoison "${plan[@]}" --out /shared/reference --json | tail -1 >&2
reference_s=$(($(date +%s) - t0))
say "one process: $reference_s s"

# Every file's sha256 (manifest.json without its time and place) in each release, compared by name.
digests() {
  pm run --rm "${run[@]}" --entrypoint node "$image" -e '
    const { createHash } = require("node:crypto"), fs = require("node:fs"), path = require("node:path");
    const walk = (d) => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]);
    for (const f of walk(process.argv[1]).sort()) {
      let bytes = fs.readFileSync(f);
      if (path.basename(f) === "manifest.json") {
        const { created, crafting_seconds, release, ...rest } = JSON.parse(bytes);
        bytes = JSON.stringify(rest);
      }
      console.log(createHash("sha256").update(bytes).digest("hex"), path.relative(process.argv[1], f));
    }' "$1"
}
queued=$(digests /shared/releases/e2e)
reference=$(digests /shared/reference)
files=$(echo "$reference" | wc -l)
# Lines of one side only: a file whose bytes differ is on both sides, one missing from either on one.
differ=$(comm -3 <(sort <<<"$queued") <(sort <<<"$reference") | awk '{print $NF}' | sort -u | wc -l)
say "$files files in the one-process release; $differ differ from the queued release's"
[ "$files" -gt 1 ] || fail "the reference release has no data files"

result=$(printf '{"image":"%s","image_mb":%d,"workers":%d,"killed":%d,"files_differ":%d,"seconds":%d}' \
  "$image" "$image_mb" "$workers" "$killed" "$differ" "$(elapsed)")
if [ -n "${E2E_OUT:-}" ]; then
  cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
  printf '%s,"files":%d,"images":%d,"steps":%d,"chunk_size":%d,"build_s":%d,"queued_s":%d,"reference_s":%d,"cpus":%d,"cpu":"%s","podman":"%s","date":"%s","command":"%s"}\n' \
    "${result%\}}" "$files" "$images" "$steps" "$chunk" "$build_s" "$queued_s" "$reference_s" "$(nproc)" "$cpu" \
    "$(podman --version | awk '{print $3}')" "$(date -u +%F)" "E2E_OUT=$E2E_OUT bash scripts/container-e2e.sh" >>"$E2E_OUT"
fi
echo "$result"
[ "$differ" -eq 0 ]
