#!/bin/bash
# Runner simulator — STANDS IN for actions/runner's run.sh, which cannot be
# downloaded on these machines. exec: the listener must be the process that
# `docker stop` signals (PID 1). See tests/runner-sim/listener.ts.
root=$(cd "$(dirname "$0")" && pwd)
exec "$root/externals/node20/bin/node" "$root/bin/sim.mjs" run "$@"
