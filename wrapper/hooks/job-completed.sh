#!/bin/sh
# Job-completed hook installed by the runner-fleet wrapper. Runs the hook the
# user had configured first (the resource is still ours), then releases the
# lock whatever that hook did, and exits with the user hook's status. The node
# and bundle that release are the wrapper's, beside this script (see job-started.sh).
case $0 in */*) here=${0%/*} ;; *) here=. ;; esac
node=$here/../node
[ -x "$node" ] || node=$(PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v node) || node=$here/../node

. "$here/run-user-hook.sh"

status=0
user_hook=${RUNNER_FLEET_USER_HOOK_JOB_COMPLETED:-}
if [ -n "$user_hook" ]; then
  run_user_hook "$user_hook" || status=$?
fi

"$node" "$here/../wrapper.mjs" hook-completed
exit "$status"
