#!/bin/sh
# The runner's registration lives in its state volume, mounted at STATE_DIR,
# root's alone (0700); everything else in the runner root (/home/runner) comes
# from the image, new at every container recreation. Paths and names are those
# of core/constants.ts (RUNNER_HOME, STATE_DIR, STATE_FILES, RUNTIME_STATE_FILES,
# ROOT_PATH; a test checks they match). Runs as root:
#
#   runner-state start CMD…       container start: copy the registration into
#                                 the runner root, then exec CMD
#   runner-state configure ARGS…  registration: config.sh ARGS as the runner
#                                 user, then keep what it wrote
#   runner-state import DIR       copy a registration from DIR, an old
#                                 whole-home volume, into STATE_DIR; prints the files
#
# Root never follows, opens or changes a path the runner user can write: what
# the runner user wrote is read as the runner user (setpriv) into a file root
# made in its own directory, and what root puts into the runner root is a file
# it has just made there, in place of whatever was there. At `start` no process
# of the runner user exists yet (the container has just started), and at
# `configure` and `import` none runs while root works, so nothing can be
# swapped between a check and its use.
#
# Nothing the running runner writes is taken back: only what config.sh wrote at
# registration is kept. The Listener prefers .runner_migrated and
# .credentials_migrated (RunnerConfigUpdater.cs writes them when GitHub
# refreshes its configuration) over .runner/.credentials (Runner.cs,
# CredentialManager.cs), and a job can write them as well as the runner can, so
# keeping them would hand the registration to a job. They are removed at every
# start; actions/runner then uses .runner/.credentials, as it does before any
# refresh.
set -u
home=/home/runner
state=/var/lib/runner-fleet/state
files='.runner .credentials .credentials_rsaparams'
runtime_files='.runner_migrated .credentials_migrated'
# Root looks commands up in these only; the caller's PATH goes on to what it runs.
caller_path=${PATH:-}
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH

fail() {
  echo "runner-state: $*" >&2
  exit 1
}

[ "$(id -u)" = 0 ] || fail "runs as root (the image's user) and runs as uid $(id -u): remove the user: setting of the runner's service from the compose file (make compose)"
user=${RUNNER_FLEET_USER:-}
[ -n "$user" ] || fail 'RUNNER_FLEET_USER is not set: rebuild the runner image (make image)'
uid=$(id -u "$user" 2>/dev/null) && gid=$(id -g "$user" 2>/dev/null) ||
  fail "RUNNER_FLEET_USER=$user does not exist in this image: rebuild the runner image (make image)"

as_runner() {
  setpriv --reuid="$uid" --regid="$gid" --init-groups -- "$@"
}

# STATE_DIR is root's, 0700. One left by the earlier layout is the runner
# user's, and a job could put anything there: keep the registration files that
# are regular files, remove everything else, make it root's.
own_state() {
  { [ -d "$state" ] && [ ! -L "$state" ]; } ||
    fail "$state is missing: rebuild the runner image (make image) and regenerate the compose file (make init)"
  [ "$(stat -c %u:%a "$state")" = 0:700 ] && return 0
  for entry in "$state"/* "$state"/.[!.]* "$state"/..?*; do
    [ -e "$entry" ] || [ -L "$entry" ] || continue
    keep=no
    for f in $files; do
      [ "${entry##*/}" = "$f" ] && [ -f "$entry" ] && [ ! -L "$entry" ] && keep=yes
    done
    if [ "$keep" = yes ]; then
      chown 0:0 "$entry" && chmod 600 "$entry" || fail "cannot make $entry root's"
    else
      rm -rf -- "$entry" || fail "cannot remove $entry"
    fi
  done
  chown 0:0 "$state" && chmod 700 "$state" || fail "cannot make $state root's"
  echo "runner-state: $state was the runner user's (an earlier layout): made root's, 0700, keeping only the registration" >&2
}

# The registration into the runner root for the Listener: each file new and the
# runner's, in place of whatever a job left there (a link, a directory, its own
# registration). The runtime files go.
install_state() {
  for f in $files $runtime_files; do
    rm -rf -- "${home:?}/$f" || fail "cannot remove $home/$f"
  done
  for f in $files; do
    [ -f "$state/$f" ] || continue
    tmp=$(mktemp "$home/.runner-fleet.XXXXXX") || fail "cannot create a file in $home"
    if ! { cat -- "$state/$f" >"$tmp" && chown "$uid:$gid" "$tmp" && chmod 600 "$tmp" && mv -f -- "$tmp" "$home/$f"; }; then
      rm -f -- "$tmp"
      fail "cannot copy $f into $home"
    fi
  done
}

# Copies the runner user's file $1 into STATE_DIR as $2: read as the runner
# user, written by root into a file it made there.
take() {
  tmp=$(mktemp "$state/.new.XXXXXX") || fail "cannot create a file in $state"
  if ! { as_runner cat -- "$1" >"$tmp" && mv -f -- "$tmp" "$state/$2"; }; then
    rm -f -- "$tmp"
    fail "cannot copy $1 into $state"
  fi
}

mode=${1:-}
[ $# -gt 0 ] && shift
case "$mode" in
  start)
    [ $# -gt 0 ] || fail 'start needs the command to run'
    case "$1" in /*) ;; *) fail "start needs the command's absolute path, not $1" ;; esac
    own_state
    install_state
    PATH=$caller_path
    exec "$@"
    ;;
  configure)
    own_state
    install_state
    as_runner env HOME="$home" USER="$user" LOGNAME="$user" PATH="$caller_path" "$home/config.sh" "$@"
    code=$?
    if [ "$code" = 0 ]; then
      for f in $files; do
        if [ -f "$home/$f" ] && [ ! -L "$home/$f" ]; then take "$home/$f" "$f"; fi
      done
    fi
    exit "$code"
    ;;
  import)
    { [ $# -eq 1 ] && [ -d "$1" ]; } || fail 'import needs the old volume directory'
    own_state
    [ -e "$state/.runner" ] && exit 0 # registered here already: the old files are older
    for f in $files; do
      if [ -f "$1/$f" ] && [ ! -L "$1/$f" ] && [ ! -e "$state/$f" ]; then
        take "$1/$f" "$f"
        echo "$f"
      fi
    done
    ;;
  *)
    fail "usage: runner-state start CMD… | configure ARGS… | import DIR"
    ;;
esac
