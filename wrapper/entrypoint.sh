#!/bin/sh
# Entrypoint of every runner container (/opt/runner-fleet/entrypoint).
# With arguments it just runs them (e.g. `docker compose run SVC config.sh ...`).
# Without, it starts the wrapper (wrapper.mjs beside this script) on whatever
# Node the image has: RUNNER_FLEET_NODE, else `node` on PATH, else the newest
# node bundled with actions/runner under $RUNNER_HOME/externals.
# @RUNNER_HOME@ is replaced at bake time (image/build.ts) by RUNNER_HOME of
# image/layout.ts, the wrapper's default too, so the two cannot disagree.
set -eu
runner_home=${RUNNER_HOME:-@RUNNER_HOME@}

if [ "$#" -gt 0 ]; then
  exec "$@"
fi

here=$(cd "$(dirname "$0")" && pwd)

newest_externals_node() {
  best=""
  best_version=-1
  for candidate in "$runner_home"/externals/node*/bin/node; do
    [ -x "$candidate" ] || continue
    # externals/node20/bin/node -> 20 (also node20_alpine -> 20)
    version=${candidate%/bin/node}
    version=${version##*/node}
    version=${version%%[!0-9]*}
    [ -n "$version" ] || version=0
    if [ "$version" -gt "$best_version" ]; then
      best=$candidate
      best_version=$version
    fi
  done
  printf '%s' "$best"
}

node_bin=${RUNNER_FLEET_NODE:-}
if [ -z "$node_bin" ]; then
  node_bin=$(command -v node 2>/dev/null || true)
fi
if [ -z "$node_bin" ]; then
  node_bin=$(newest_externals_node)
fi
if [ -z "$node_bin" ]; then
  echo "runner-fleet: no node found (PATH, or $runner_home/externals/node*/bin/node): install node in the image or set RUNNER_FLEET_NODE" >&2
  exit 2
fi

RUNNER_FLEET_NODE=$node_bin
export RUNNER_FLEET_NODE
exec "$node_bin" "$here/wrapper.mjs" supervise
