#!/bin/bash
# Runner simulator — STANDS IN for actions/runner's config.sh
# (src/Misc/layoutroot/config.sh), which cannot be downloaded here. Same
# behaviour as far as this project relies on it, own words: refuses uid 0
# unless RUNNER_ALLOW_RUNASROOT is set; works in the runner root; sources
# env.sh (writes .path and .env); `config.sh remove …` runs
# `Runner.Listener remove …`, anything else `Runner.Listener configure …`.
if [ "$(id -u)" -eq 0 ] && [ -z "$RUNNER_ALLOW_RUNASROOT" ]; then
  echo "Must not run with sudo"
  exit 1
fi
src="${BASH_SOURCE[0]}"
while [ -h "$src" ]; do
  dir="$(cd -P "$(dirname "$src")" && pwd)"
  src="$(readlink "$src")"
  [[ $src != /* ]] && src="$dir/$src"
done
DIR="$(cd -P "$(dirname "$src")" && pwd)"
cd "$DIR" || exit 1
source ./env.sh
shopt -s nocasematch
if [[ "$1" == "remove" ]]; then
  shift
  ./bin/Runner.Listener ./bin/sim.mjs remove "$@"
else
  ./bin/Runner.Listener ./bin/sim.mjs configure "$@"
fi
