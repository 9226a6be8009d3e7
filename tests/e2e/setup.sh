#!/usr/bin/env bash
# Prepares the end-to-end test ground on this host (called by .ci/run as root,
# before the tests; safe to run again, each phase is skipped when done):
#   1. Debian packages docker.io, docker-compose (v1), debootstrap
#   2. a Docker daemon that answers `docker info`
#   3. base image runner-fleet-test/bookworm:minbase-sudo (debootstrap with sudo,
#      which the official runner image has; cached by tag,
#      since no container registry can be reached from these machines)
#   4. image runner-fleet-test/actions-runner:sim: the runner simulator, which
#      STANDS IN for actions/runner (not downloadable here); rebuilt only when
#      its inputs change (content hash kept as an image label).
set -euo pipefail

BASE_IMAGE=${BASE_IMAGE:-runner-fleet-test/bookworm:minbase-sudo}
SIM_IMAGE=${SIM_IMAGE:-runner-fleet-test/actions-runner:sim}
DOCKERD_LOG=${DOCKERD_LOG:-/var/log/runner-fleet-dockerd.log}
DOCKERD_WAIT_S=${DOCKERD_WAIT_S:-60}
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# Runs one phase, printing its wall time; its output is shown only on failure.
phase() {
  local name=$1; shift
  local start=$SECONDS log
  log=$(mktemp)
  # Run in the background and wait: inside an `if` condition bash would
  # silently ignore `set -e` in the phase's function.
  "$@" >"$log" 2>&1 &
  if wait $!; then
    # A phase may leave one progress line for the user in its log's first line
    # when it starts with '>' (e.g. "> built"); everything else stays quiet.
    local note
    note=$(grep -m1 '^> ' "$log" | cut -c3- || true)
    say "$name: ${note:-ok} ($((SECONDS - start)) s)"
    rm -f "$log"
  else
    local rc=$?
    printf 'setup: %s FAILED after %s s (exit %s); its output:\n' "$name" "$((SECONDS - start))" "$rc" >&2
    sed 's/^/  | /' "$log" >&2
    rm -f "$log"
    exit "$rc"
  fi
}

ensure_packages() {
  local missing=()
  command -v docker >/dev/null || missing+=(docker.io)
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v docker-compose >/dev/null || missing+=(docker-compose)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  if [ ${#missing[@]} -eq 0 ]; then echo '> already installed'; return; fi
  local packages
  packages=$(printf '%s\n' "${missing[@]}" | sort -u | xargs)
  [ "$(id -u)" -eq 0 ] || { echo "need root to install: $packages"; return 1; }
  echo "> installed $packages"
  export DEBIAN_FRONTEND=noninteractive
  # A third-party source that cannot be reached must not stop the install.
  apt-get update -q || echo 'apt-get update reported errors; installing anyway'
  # Where no init system runs, docker.io's post-install may fail to start the
  # service; that is fine as long as the programs are there (checked below).
  # shellcheck disable=SC2086 # a list of package names
  apt-get install -y -q $packages ||
    echo 'apt-get install reported errors; checking the programs'
  local cmd
  for cmd in docker dockerd docker-compose debootstrap; do
    command -v "$cmd" >/dev/null || { echo "$cmd is still missing after apt-get install"; return 1; }
  done
}

ensure_daemon() {
  if docker info >/dev/null 2>&1; then echo '> already running'; return; fi
  [ "$(id -u)" -eq 0 ] || { echo 'no Docker daemon answers and only root can start one'; return 1; }
  echo "> started dockerd (log: $DOCKERD_LOG)"
  # setsid: the daemon must outlive this script and not get its signals.
  setsid dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
  local deadline=$((SECONDS + DOCKERD_WAIT_S))
  until docker info >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      echo "dockerd did not answer within ${DOCKERD_WAIT_S} s; last lines of $DOCKERD_LOG:"
      tail -n 20 "$DOCKERD_LOG"
      return 1
    fi
    sleep 0.5
  done
}

ensure_base_image() {
  if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then echo '> cached'; return; fi
  echo "> built with debootstrap"
  local dir
  dir=$(mktemp -d /var/tmp/minbase.XXXXXX)
  # shellcheck disable=SC2064 # expand now: the trap must remove this dir
  trap "rm -rf '$dir'" RETURN
  debootstrap --variant=minbase --include=sudo bookworm "$dir"
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  tar -C "$dir" -c . | docker import - "$BASE_IMAGE"
}

ensure_sim_image() {
  [ -d "$REPO_ROOT/node_modules/esbuild" ] || { echo 'node_modules is missing: run npm ci first'; return 1; }
  (cd "$REPO_ROOT" && node --import tsx standins/runner/build.ts --base "$BASE_IMAGE" --tag "$SIM_IMAGE")
}

total_start=$SECONDS
phase "packages (docker.io, docker-compose, debootstrap)" ensure_packages
phase "docker daemon" ensure_daemon
phase "base image $BASE_IMAGE" ensure_base_image
phase "simulator image $SIM_IMAGE" ensure_sim_image
say "ready in $((SECONDS - total_start)) s"
