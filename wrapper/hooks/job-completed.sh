#!/bin/sh
# Job-completed hook installed by the runner-fleet wrapper. Runs the hook the
# user had configured first (the resource is still ours), then releases the
# lock whatever that hook did, and exits with the user hook's status.
here=$(cd "$(dirname "$0")" && pwd)

run_user_hook() {
  # the way actions/runner runs a hook: bash for shell scripts when present, pwsh for .ps1
  case "$1" in
    *.ps1) pwsh -NoProfile -NonInteractive -File "$1" ;;
    *)
      if command -v bash >/dev/null 2>&1; then
        bash --noprofile --norc -e -o pipefail "$1"
      else
        sh -e "$1"
      fi
      ;;
  esac
}

status=0
user_hook=${RUNNER_FLEET_USER_HOOK_JOB_COMPLETED:-}
if [ -n "$user_hook" ]; then
  run_user_hook "$user_hook" || status=$?
fi

"${RUNNER_FLEET_NODE:-node}" "$here/../wrapper.mjs" hook-completed
exit "$status"
