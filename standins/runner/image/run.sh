#!/bin/bash
# Runner simulator — STANDS IN for actions/runner's run.sh (src/Misc/layoutroot/run.sh),
# which cannot be downloaded here. Same behaviour, own words:
# - run-helper.sh is copied afresh from its template and run in a loop: its
#   exit code 2 means "start the Listener again" (retryable error, finished
#   self-update); anything else ends run.sh.
# - Without RUNNER_MANUALLY_TRAP_SIG, run-helper runs in the foreground and
#   run.sh exits 0 when it ends.
# - With RUNNER_MANUALLY_TRAP_SIG (set in the official image), job control is
#   on, so run-helper gets a process group of its own; SIGINT and SIGTERM to
#   run.sh are trapped and sent on as SIGINT to that whole group (run-helper,
#   Runner.Listener, Runner.Worker and the job's processes). The interrupted
#   `wait` returns 128+signal; run.sh then waits for the group to finish and
#   exits with that code (130 after SIGINT, 143 after SIGTERM).
# ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE=1 lets exit code 7 through.

src="${BASH_SOURCE[0]}"
while [ -h "$src" ]; do
  dir="$(cd -P "$(dirname "$src")" && pwd)"
  src="$(readlink "$src")"
  [[ $src != /* ]] && src="$dir/$src"
done
DIR="$(cd -P "$(dirname "$src")" && pwd)"

fresh_helper() {
  cp -f "$DIR/run-helper.sh.template" "$DIR/run-helper.sh"
}

ends_with_7() {
  [[ "$ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE" == "1" && $1 -eq 7 ]]
}

if [[ -z "$RUNNER_MANUALLY_TRAP_SIG" ]]; then
  while :; do
    fresh_helper
    "$DIR/run-helper.sh" "$@"
    code=$?
    if [[ $code -eq 2 ]]; then
      echo "Restarting runner..."
      continue
    fi
    echo "Exiting runner..."
    if ends_with_7 $code; then exit $code; fi
    exit 0
  done
fi

set -m
helper_pid=
trap 'kill -INT -"$helper_pid"' INT TERM
while :; do
  fresh_helper
  "$DIR/run-helper.sh" "$@" &
  helper_pid=$!
  wait "$helper_pid"
  code=$?
  if [[ $code -eq 2 ]]; then
    echo "Restarting runner..."
    continue
  fi
  echo "Exiting runner..."
  if ends_with_7 $code; then exit $code; fi
  trap - INT TERM
  wait "$helper_pid" # let it finish (and log) after a signal
  exit $code
done
