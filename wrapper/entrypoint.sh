#!/bin/sh
# Entrypoint of every runner container (/opt/runner-fleet/entrypoint), run as
# root. With arguments it just runs them (e.g. `docker compose run SVC
# config.sh ...`). Without, it starts the wrapper (wrapper.mjs beside this
# script) on the node beside it: a root-owned copy of the base image's node made
# at build time (image/Dockerfile). Root never runs a node or any other command
# from a directory the runner user can write: not the runner's externals/, not
# RUNNER_FLEET_NODE, not the image's PATH (which may list such directories); it
# looks commands up in the system's directories only. Outside an image (the
# tests) with no node beside it, the system's node is used.
set -eu
runner_path=${PATH:-}
PATH=/usr/sbin:/usr/bin:/sbin:/bin

if [ "$#" -gt 0 ]; then
  PATH=$runner_path
  export PATH
  exec "$@"
fi

case $0 in */*) here=${0%/*} ;; *) here=. ;; esac
node=$here/node
if [ ! -x "$node" ]; then
  node=$(command -v node 2>/dev/null || true)
fi
if [ -z "$node" ]; then
  echo "runner-fleet: no node for the wrapper: $here/node is missing and none is in $PATH: rebuild the runner image (make image), which copies the base image's node there" >&2
  exit 2
fi

# The runner gets the image's PATH; the wrapper itself runs nothing by lookup.
PATH=$runner_path
export PATH
exec "$node" "$here/wrapper.mjs" supervise
