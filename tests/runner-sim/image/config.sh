#!/bin/bash
# Runner simulator — STANDS IN for actions/runner's config.sh, which cannot be
# downloaded on these machines. Same command line and behaviour as far as this
# project relies on them; see tests/runner-sim/config.ts.
root=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" -eq 0 ] && [ -z "${RUNNER_ALLOW_RUNASROOT:-}" ]; then
  echo "Must not run with sudo"
  exit 1
fi
exec "$root/externals/node20/bin/node" "$root/bin/sim.mjs" config "$@"
