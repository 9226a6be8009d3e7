#!/usr/bin/env bash
# Prepares the end-to-end test ground on this host (called by .ci/run as root,
# before the tests; safe to run again, each phase is skipped when done):
#   1. the Docker that users run: Debian trixie's docker.io 26 and docker-cli,
#      docker-buildx (BuildKit), and compose v2 as the CLI plugin; trixie is
#      pinned at priority 100 so that nothing else is taken from it. Bookworm's
#      docker-compose 1.29 (v1) stays for the suite that covers v1, and
#      debootstrap builds the base image. Compose v2 and v1 are one package
#      name in Debian, so v2's static plugin binary is unpacked from trixie's
#      .deb into /usr/local/lib/docker/cli-plugins (where `docker` looks first).
#   2. a Docker daemon that answers `docker info`
#   3. base image runner-fleet-test/bookworm:minbase-sudo (debootstrap with sudo,
#      which the official runner image has; cached by tag,
#      since no container registry can be reached from these machines)
#   4. image runner-fleet-test/actions-runner:sim: the runner simulator, which
#      STANDS IN for actions/runner (not downloadable here); rebuilt only when
#      its inputs change (content hash kept as an image label).
#   5. a second Docker daemon on this machine, the second host of the tests of
#      several hosts (tests/e2e/hosts.test.ts): its own socket
#      (SECOND_DOCKER_HOST), data root, exec root and pid file, and a bridge of
#      its own (never --bridge=none: that makes dockerd delete docker0, the
#      first daemon's bridge) with iptables left to the first daemon
#   6. the simulator image on the second daemon, copied with docker save |
#      docker load (no registry here); again only when its id differs
set -euo pipefail

# The defaults are STANDIN_IMAGES of core/constants.ts (tests/image/standin-image-names.test.ts).
BASE_IMAGE=${BASE_IMAGE:-runner-fleet-test/bookworm:minbase-sudo}
SIM_IMAGE=${SIM_IMAGE:-runner-fleet-test/actions-runner:sim}
DOCKERD_LOG=${DOCKERD_LOG:-/var/log/runner-fleet-dockerd.log}
DOCKERD_WAIT_S=${DOCKERD_WAIT_S:-60}
# The second daemon (tests/e2e/helpers.ts SECOND_DOCKER_HOST names the same socket).
SECOND_SOCKET=${SECOND_SOCKET:-/run/docker-second.sock}
SECOND_DATA_ROOT=${SECOND_DATA_ROOT:-/var/lib/docker-second}
SECOND_EXEC_ROOT=${SECOND_EXEC_ROOT:-/run/docker-second}
SECOND_PIDFILE=${SECOND_PIDFILE:-/run/docker-second.pid}
SECOND_BRIDGE=${SECOND_BRIDGE:-rf-docker2}
SECOND_BRIDGE_CIDR=${SECOND_BRIDGE_CIDR:-10.199.99.1/24}
SECOND_LOG=${SECOND_LOG:-/var/log/runner-fleet-dockerd-second.log}
# The etcd of the lock-on-etcd tests (tests/support/etcd.ts GROUND_ETCD names the same endpoint).
ETCD_CLIENT=${ETCD_CLIENT:-127.0.0.1:2379}
ETCD_PEER=${ETCD_PEER:-127.0.0.1:2380}
ETCD_DATA_DIR=${ETCD_DATA_DIR:-/var/lib/etcd-runner-fleet-test}
ETCD_LOG=${ETCD_LOG:-/var/log/runner-fleet-etcd.log}
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

ENGINE_MAJOR=26
TRIXIE_SOURCE=/etc/apt/sources.list.d/runner-fleet-trixie.sources
TRIXIE_PIN=/etc/apt/preferences.d/runner-fleet-trixie
COMPOSE_PLUGIN=/usr/local/lib/docker/cli-plugins/docker-compose

# The server's major version, or nothing when no dockerd is installed.
installed_engine_major() {
  command -v dockerd >/dev/null || return 0
  dockerd --version | sed -n 's/^Docker version \([0-9]*\)\..*/\1/p'
}

need_root() { [ "$(id -u)" -eq 0 ] || { echo "need root to $*"; return 1; }; }

# Trixie on the same mirror as bookworm, at a priority below every installed
# package's, so only what is asked for by name with -t trixie comes from it.
add_trixie_source() {
  [ -f "$TRIXIE_SOURCE" ] && [ -f "$TRIXIE_PIN" ] && return
  # The mirror bookworm comes from (deb822 or one-line sources), else Debian's own.
  local uris
  uris=$({ sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources; awk '$1 == "deb" && !/security/ { print $2 }' /etc/apt/sources.list; } 2>/dev/null | head -n1 || true)
  cat >"$TRIXIE_SOURCE" <<SOURCE
Types: deb
URIs: ${uris:-http://deb.debian.org/debian}
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCE
  cat >"$TRIXIE_PIN" <<PIN
Package: *
Pin: release n=trixie
Pin-Priority: 100
PIN
}

apt_update() {
  apt-get update -q || echo 'apt-get update reported errors; installing anyway'
}

ensure_packages() {
  local want=()
  [ "$(installed_engine_major)" = "$ENGINE_MAJOR" ] || want+=(engine)
  [ -x "$COMPOSE_PLUGIN" ] || want+=(compose-v2)
  dpkg -s docker-buildx >/dev/null 2>&1 || want+=(engine)
  command -v docker-compose >/dev/null || want+=(compose-v1)
  command -v debootstrap >/dev/null || want+=(debootstrap)
  command -v ip >/dev/null || want+=(iproute2) # the second daemon's bridge
  command -v openssl >/dev/null || want+=(openssl) # certificates for the etcd TLS test
  if [ ${#want[@]} -eq 0 ]; then echo '> already installed'; return; fi
  need_root "install the test ground (${want[*]})"
  echo "> installed $(printf '%s\n' "${want[@]}" | sort -u | xargs)"
  export DEBIAN_FRONTEND=noninteractive
  add_trixie_source
  apt_update
  # An older engine's daemon must not keep answering with the old version.
  pkill -x dockerd 2>/dev/null && sleep 2 || true
  # Bookworm's part first: compose v1 needs bookworm's python3.
  apt-get install -y -q docker-compose debootstrap iproute2 openssl ||
    echo 'apt-get install (bookworm) reported errors; checking the programs'
  # Only these three from trixie (pkg/trixie, never -t trixie, which would
  # take every dependency from trixie too): their dependencies resolve in
  # bookworm (containerd, runc, tini, iptables). Where no init system runs,
  # docker.io's post-install may fail to start the service; that is fine as
  # long as the programs are there (checked below).
  apt-get install -y -q --no-install-recommends docker.io/trixie docker-cli/trixie docker-buildx/trixie ||
    echo 'apt-get install (trixie) reported errors; checking the programs'
  if [ ! -x "$COMPOSE_PLUGIN" ]; then
    local dir
    dir=$(mktemp -d)
    chown _apt "$dir" 2>/dev/null || true # apt downloads as _apt where it can
    (cd "$dir" && apt-get download -q docker-compose/trixie)
    dpkg-deb -x "$dir"/docker-compose_*.deb "$dir/root"
    install -D -m 0755 "$dir/root/usr/libexec/docker/cli-plugins/docker-compose" "$COMPOSE_PLUGIN"
    rm -rf "$dir"
  fi
  local cmd
  for cmd in docker dockerd docker-compose debootstrap ip openssl; do
    command -v "$cmd" >/dev/null || { echo "$cmd is still missing after apt-get install"; return 1; }
  done
  [ "$(installed_engine_major)" = "$ENGINE_MAJOR" ] ||
    { echo "dockerd is $(dockerd --version), not $ENGINE_MAJOR.x, after apt-get install"; return 1; }
  docker compose version >/dev/null || { echo 'docker compose (v2 plugin) does not run'; return 1; }
}

# wait_for WHAT LOG SECONDS CMD…: until CMD succeeds; after SECONDS, says so with the last lines of LOG and fails.
wait_for() {
  local what=$1 log=$2 seconds=$3
  shift 3
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      echo "$what did not answer within ${seconds} s; last lines of $log:"
      tail -n 20 "$log"
      return 1
    fi
    sleep 0.5
  done
}

server_version() { docker version --format '{{.Server.Version}}' 2>/dev/null; }

ensure_daemon() {
  if docker info >/dev/null 2>&1; then
    local running
    running=$(server_version)
    if [ "${running%%.*}" = "$ENGINE_MAJOR" ]; then echo "> Docker $running already running"; return; fi
    # A daemon left from before the upgrade (e.g. 20.10) would test the wrong engine.
    need_root "replace the running Docker $running with $ENGINE_MAJOR.x"
    pkill -x dockerd || true
    local until_gone=$((SECONDS + 30))
    while docker info >/dev/null 2>&1 && [ $SECONDS -lt $until_gone ]; do sleep 0.5; done
  fi
  [ "$(id -u)" -eq 0 ] || { echo 'no Docker daemon answers and only root can start one'; return 1; }
  # setsid: the daemon must outlive this script and not get its signals.
  setsid dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
  wait_for dockerd "$DOCKERD_LOG" "$DOCKERD_WAIT_S" docker info || return 1
  echo "> started Docker $(server_version) (log: $DOCKERD_LOG)"
}

ensure_base_image() {
  if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then echo '> cached'; return; fi
  echo "> built with debootstrap"
  bash "$REPO_ROOT/standins/runner/base-image.sh" "$BASE_IMAGE"
}

ensure_sim_image() {
  [ -d "$REPO_ROOT/node_modules/esbuild" ] || { echo 'node_modules is missing: run npm ci first'; return 1; }
  (cd "$REPO_ROOT" && node --import tsx standins/runner/build.ts --base "$BASE_IMAGE" --tag "$SIM_IMAGE")
}

# docker on the second daemon.
second() { DOCKER_HOST="unix://$SECOND_SOCKET" DOCKER_CONTEXT='' docker "$@"; }
second_version() { second version --format '{{.Server.Version}}' 2>/dev/null; }

ensure_second_daemon() {
  if second info >/dev/null 2>&1; then
    local running
    running=$(second_version)
    if [ "${running%%.*}" = "$ENGINE_MAJOR" ]; then echo "> Docker $running already running on unix://$SECOND_SOCKET"; return; fi
    need_root "replace the second daemon's Docker $running with $ENGINE_MAJOR.x"
    kill "$(cat "$SECOND_PIDFILE")" 2>/dev/null || true
    local until_gone=$((SECONDS + 30))
    while second info >/dev/null 2>&1 && [ $SECONDS -lt $until_gone ]; do sleep 0.5; done
  fi
  [ "$(id -u)" -eq 0 ] || { echo 'the second Docker daemon does not answer and only root can start one'; return 1; }
  # Its own bridge, so that neither daemon touches the other's docker0
  # (dockerd --bridge=none deletes docker0); containers of the fleets run on
  # the host network, the bridge serves docker build's RUN steps.
  ip link show "$SECOND_BRIDGE" >/dev/null 2>&1 || ip link add "$SECOND_BRIDGE" type bridge
  ip -4 addr show dev "$SECOND_BRIDGE" | grep -q inet || ip addr add "$SECOND_BRIDGE_CIDR" dev "$SECOND_BRIDGE"
  ip link set "$SECOND_BRIDGE" up
  mkdir -p "$SECOND_DATA_ROOT" "$SECOND_EXEC_ROOT"
  setsid dockerd --host "unix://$SECOND_SOCKET" --data-root "$SECOND_DATA_ROOT" --exec-root "$SECOND_EXEC_ROOT" \
    --pidfile "$SECOND_PIDFILE" --bridge "$SECOND_BRIDGE" --iptables=false --ip6tables=false \
    >>"$SECOND_LOG" 2>&1 </dev/null &
  wait_for 'the second dockerd' "$SECOND_LOG" "$DOCKERD_WAIT_S" second info || return 1
  echo "> started Docker $(second_version) on unix://$SECOND_SOCKET (log: $SECOND_LOG)"
}

# The images the tests of several hosts run there, copied when their id differs (a rebuilt simulator).
ensure_second_images() {
  local image id copied=()
  for image in "$SIM_IMAGE"; do
    id=$(docker image inspect --format '{{.Id}}' "$image")
    [ "$(second image inspect --format '{{.Id}}' "$image" 2>/dev/null)" = "$id" ] && continue
    docker save "$image" | second load >/dev/null
    [ "$(second image inspect --format '{{.Id}}' "$image")" = "$id" ] || { echo "$image has another id after docker load"; return 1; }
    copied+=("$image")
  done
  if [ ${#copied[@]} -eq 0 ]; then echo '> already there'; return; fi
  # The copy it replaced, now untagged.
  second image prune -f >/dev/null
  echo "> copied ${copied[*]}"
}

# True when an etcd answers /health at $ETCD_CLIENT (bash's /dev/tcp: no curl needed).
etcd_healthy() {
  local host=${ETCD_CLIENT%:*} port=${ETCD_CLIENT##*:} reply
  reply=$(timeout 3 bash -c "exec 3<>/dev/tcp/$host/$port && printf 'GET /health HTTP/1.0\r\nHost: %s\r\n\r\n' '$host' >&3 && cat <&3" 2>/dev/null) || return 1
  [[ $reply == *'"health":"true"'* ]]
}

# 7. etcd for the lock on etcd (RUNNER_LOCK_BACKEND=etcd): bookworm's
#    etcd-server (3.4), run in the background like dockerd, its data under
#    $ETCD_DATA_DIR. An etcd already answering at $ETCD_CLIENT is used as it is.
ensure_etcd() {
  if etcd_healthy; then echo "> etcd already running at $ETCD_CLIENT"; return; fi
  if ! command -v etcd >/dev/null; then
    need_root 'install etcd-server'
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends etcd-server || { apt_update; apt-get install -y -q --no-install-recommends etcd-server; }
    command -v etcd >/dev/null || { echo 'etcd is still missing after apt-get install etcd-server'; return 1; }
    # Its package may have started the distribution's service on the same port meanwhile.
    if etcd_healthy; then echo "> installed etcd-server; the package's etcd answers at $ETCD_CLIENT"; return; fi
  fi
  [ "$(id -u)" -eq 0 ] || { echo 'no etcd answers and only root can start one'; return 1; }
  mkdir -p "$ETCD_DATA_DIR" && chmod 0700 "$ETCD_DATA_DIR"
  # setsid: it must outlive this script and not get its signals.
  setsid etcd --name runner-fleet-test --data-dir "$ETCD_DATA_DIR" \
    --listen-client-urls "http://$ETCD_CLIENT" --advertise-client-urls "http://$ETCD_CLIENT" \
    --listen-peer-urls "http://$ETCD_PEER" --initial-advertise-peer-urls "http://$ETCD_PEER" \
    --initial-cluster "runner-fleet-test=http://$ETCD_PEER" >>"$ETCD_LOG" 2>&1 </dev/null &
  wait_for "etcd at $ETCD_CLIENT" "$ETCD_LOG" 30 etcd_healthy || return 1
  echo "> started etcd $(etcd --version | sed -n 's/^etcd Version: //p') at $ETCD_CLIENT (log: $ETCD_LOG)"
}

total_start=$SECONDS
phase "packages (Docker $ENGINE_MAJOR, compose v2 + v1, buildx, debootstrap)" ensure_packages
phase "docker daemon" ensure_daemon
phase "base image $BASE_IMAGE" ensure_base_image
phase "simulator image $SIM_IMAGE" ensure_sim_image
phase "second docker daemon (unix://$SECOND_SOCKET)" ensure_second_daemon
phase "simulator image on the second daemon" ensure_second_images
phase "etcd (http://$ETCD_CLIENT)" ensure_etcd
versions() {
  local v2 v1
  v2=$(docker compose version --short 2>/dev/null || echo missing)
  v1=$(docker-compose version --short 2>/dev/null || echo missing)
  printf 'Docker engine %s (client %s), compose v2 %s, compose v1 %s' \
    "$(server_version)" "$(docker version --format '{{.Client.Version}}' 2>/dev/null)" "$v2" "$v1"
}
say "$(versions)"
say "second engine ready: unix://$SECOND_SOCKET (Docker $(second_version), data root $SECOND_DATA_ROOT)"
say "ready in $((SECONDS - total_start)) s"
