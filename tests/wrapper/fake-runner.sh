#!/bin/sh
# STAND-IN FOR actions/runner in the lock tests; it is not the real runner.
# Like Runner.Listener it runs jobs one at a time, each in its own "worker"
# process which runs $ACTIONS_RUNNER_HOOK_JOB_STARTED (bash), the job's step,
# then $ACTIONS_RUNNER_HOOK_JOB_COMPLETED. Like the real runner on SIGTERM it
# stops the running job without the completed hook (actions/runner#2595).
#
#   FAKE_DIR         where it writes events (one line each) and worker-RUN.pid
#   FAKE_JOBS        space-separated RUN_ID:SECONDS, run in order
#   FAKE_STAY        1: stay up after the jobs until signalled
#   FAKE_GATE        1: start each job only once the file $FAKE_DIR/go-RUN_ID exists
#   FAKE_REPOSITORY  the jobs' GITHUB_REPOSITORY (default org/repo)
# Like Runner.Listener (JobDispatcher.cs) it prints "<utc>: Running job: NAME"
# when it starts a job and, on SIGUSR1 (the test's stand-in for a cancel from
# GitHub), the Listener's trace line "Job cancellation request … received"
# (as with ACTIONS_RUNNER_PRINT_LOG_TO_STDOUT); the job's started hook, like
# the real one (always()), is not interrupted. It writes its pid to runner.pid.
# Like Runner.Listener it applies $RUNNER_HOME/.env (when RUNNER_HOME is set)
# over its environment at start: KEY=VALUE per line, split at the first '=',
# an empty value unsets (lines whose key is no shell name are skipped here).
# Its processes are named as actions/runner's are (run-helper.sh.template runs
# bin/Runner.Listener; JobDispatcher.cs starts bin/Runner.Worker as the
# Listener's child): the wrapper finds a job's worker by these names.
set -u

events="$FAKE_DIR/events"
now() { date +%s%N; }

if [ "${1:-}" != listener ] && [ "${1:-}" != worker ]; then
  # run.sh: becomes the Listener, under that name (same pid).
  mkdir -p "$FAKE_DIR/bin"
  for exe in Runner.Listener Runner.Worker; do ln -sf "$(command -v sh)" "$FAKE_DIR/bin/$exe"; done
  exec "$FAKE_DIR/bin/Runner.Listener" "$0" listener
fi

if [ "$1" = worker ]; then
  run=$2; seconds=$3
  echo $$ > "$FAKE_DIR/worker-$run.pid"
  export GITHUB_RUN_ID="$run" GITHUB_RUN_ATTEMPT=1 GITHUB_JOB=test GITHUB_REPOSITORY="${FAKE_REPOSITORY:-org/repo}"
  if bash "$ACTIONS_RUNNER_HOOK_JOB_STARTED" >> "$FAKE_DIR/job-$run.log" 2>&1; then
    echo "start $run $(now)" >> "$events"
    sleep "$seconds"
    echo "end $run $(now)" >> "$events"
  else
    echo "started-hook-failed $run $(now)" >> "$events"
  fi
  bash "$ACTIONS_RUNNER_HOOK_JOB_COMPLETED" >> "$FAKE_DIR/job-$run.log" 2>&1
  echo "completed $run $(now)" >> "$events"
  exit 0
fi

if [ -n "${RUNNER_HOME:-}" ] && [ -f "$RUNNER_HOME/.env" ]; then
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in *=*) ;; *) continue ;; esac
    key=${line%%=*}
    case "$key" in ''|[!A-Za-z_]*|*[!A-Za-z0-9_]*) continue ;; esac
    value=${line#*=}
    if [ -z "$value" ]; then unset "$key"; else export "$key=$value"; fi
  done < "$RUNNER_HOME/.env"
fi

worker=""
current=""
utc() { date -u '+%Y-%m-%d %H:%M:%SZ'; }
echo $$ > "$FAKE_DIR/runner.pid"
on_cancel() {
  echo "[RUNNER $(utc) INFO JobDispatcher] Job cancellation request $current received, cancellation timeout 5 minutes."
  echo "cancel-requested $current $(now)" >> "$events"
}
trap on_cancel USR1
on_term() {
  echo "term $(now)" >> "$events"
  # FAKE_IGNORE_TERM=1: a runner that does not stop (the wrapper's grace must end it)
  [ "${FAKE_IGNORE_TERM:-0}" = 1 ] && return
  [ -n "$worker" ] && kill -KILL "$worker" 2>/dev/null
  exit 7
}
trap on_term TERM INT

echo "listening $(now)" >> "$events"
for job in ${FAKE_JOBS:-}; do
  current=${job%%:*}
  if [ "${FAKE_GATE:-0}" = 1 ]; then
    while [ ! -e "$FAKE_DIR/go-$current" ]; do sleep 0.05; done
  fi
  echo "$(utc): Running job: test"
  "$FAKE_DIR/bin/Runner.Worker" "$0" worker "$current" "${job#*:}" &
  worker=$!
  # a trapped signal interrupts wait: wait again until the worker is gone
  while kill -0 "$worker" 2>/dev/null; do wait "$worker"; done
  worker=""
done
if [ "${FAKE_STAY:-0}" = 1 ]; then
  while :; do sleep 1 & wait $!; done
fi
exit 0
