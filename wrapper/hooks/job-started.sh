#!/bin/sh
# Job-started hook installed by the runner-fleet wrapper. actions/runner runs it
# in the job's worker process: it blocks until the wrapper holds the
# resource's lock for this job (printing progress to the job log), then runs
# the hook the user had configured, if any.
here=$(cd "$(dirname "$0")" && pwd)

. "$here/run-user-hook.sh"

# $PPID is the process that ran this script: the job's worker.
"${RUNNER_FLEET_NODE:-node}" "$here/../wrapper.mjs" hook-started "$PPID" || exit $?

user_hook=${RUNNER_FLEET_USER_HOOK_JOB_STARTED:-}
if [ -n "$user_hook" ]; then
  run_user_hook "$user_hook" || exit $?
fi
exit 0
