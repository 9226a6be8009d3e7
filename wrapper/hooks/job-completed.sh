#!/bin/sh
# Job-completed hook installed by the runner-fleet wrapper. Runs the hook the
# user had configured first (the resource is still ours), then releases the
# lock whatever that hook did, and exits with the user hook's status.
here=$(cd "$(dirname "$0")" && pwd)

. "$here/run-user-hook.sh"

status=0
user_hook=${RUNNER_FLEET_USER_HOOK_JOB_COMPLETED:-}
if [ -n "$user_hook" ]; then
  run_user_hook "$user_hook" || status=$?
fi

"${RUNNER_FLEET_NODE:-node}" "$here/../wrapper.mjs" hook-completed
exit "$status"
