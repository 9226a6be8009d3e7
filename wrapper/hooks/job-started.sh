#!/bin/sh
# Job-started hook installed by the runner-fleet wrapper. actions/runner runs it
# in the job's worker process: it blocks until the wrapper holds the
# resource's lock for this job (printing progress to the job log), then runs
# the hook the user had configured, if any.
# Which program asks for the lock is fixed here, never taken from the
# environment (the runner applies its .env over it): the wrapper's node and
# bundle beside this script (RUNNER_FLEET_NODE is not read), no command looked
# up in the runner's PATH.
case $0 in */*) here=${0%/*} ;; *) here=. ;; esac
node=$here/../node
[ -x "$node" ] || node=$(PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v node) || node=$here/../node

. "$here/run-user-hook.sh"

# The wrapper finds the job's worker itself (never a pid from here).
"$node" "$here/../wrapper.mjs" hook-started || exit $?

user_hook=${RUNNER_FLEET_USER_HOOK_JOB_STARTED:-}
if [ -n "$user_hook" ]; then
  run_user_hook "$user_hook" || exit $?
fi
exit 0
