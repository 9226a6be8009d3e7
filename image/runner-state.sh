#!/bin/sh
# The runner's registration lives in its state volume, mounted at STATE_DIR;
# everything else in the runner root (/home/runner) comes from the image, new
# at every container recreation. Paths and names are those of image/layout.ts
# (RUNNER_HOME, STATE_DIR, STATE_FILES; a test checks they match).
#
#   runner-state start CMD…       container start: keep, link, then exec CMD
#   runner-state configure ARGS…  registration: config.sh ARGS, then keep and link
#   runner-state sync             keep and link (the toolkit runs it in a running
#                                 container before recreating it)
#   runner-state import DIR       (as root) copy a registration from DIR, an old
#                                 whole-home volume, into STATE_DIR; prints the files
#
# Why links made at start, and only for files that exist: actions/runner asks
# File.Exists/FileInfo.Exists whether it is configured, and .NET answers true
# for a dangling symlink on Unix (dotnet/corefx#6591), so a link without its
# file would make config.sh refuse ("already configured") and run.sh fail.
# Why "keep": ConfigurationStore deletes a file before saving it again, which
# removes our link and leaves a regular file in the root, and a file that did
# not exist (.runner_migrated) is written there plainly too; keep moves any such
# file into STATE_DIR (at every start, after config.sh, and before the toolkit
# recreates a running container).
set -u
home=/home/runner
state=/var/lib/runner-fleet/state
files='.runner .runner_migrated .credentials .credentials_migrated .credentials_rsaparams'

fail() {
  echo "runner-state: $*" >&2
  exit 1
}

# A state file the runner wrote as a regular file in its root moves into the state
# directory (copy beside, then rename: never a half-written file there).
keep() {
  for f in $files; do
    if [ -f "$home/$f" ] && [ ! -L "$home/$f" ]; then
      cp -p "$home/$f" "$state/.$f.tmp" && mv -f "$state/.$f.tmp" "$state/$f" && rm -f "$home/$f" ||
        fail "cannot move $home/$f into $state: check that the runner user owns $state (the state volume)"
    fi
  done
}

# One link in the root per state file present; none (not even a dangling one) for an absent one.
link() {
  for f in $files; do
    if [ -f "$state/$f" ]; then
      ln -sfn "$state/$f" "$home/$f" || fail "cannot link $home/$f to $state/$f"
    elif [ -L "$home/$f" ]; then
      rm -f "$home/$f" || fail "cannot remove the stale link $home/$f"
    fi
  done
}

[ -d "$state" ] || fail "$state is missing: rebuild the runner image (make image) and regenerate the compose file (make init)"
mode=${1:-}
# The container starts as root (the wrapper must be). Registration and the
# state files are the runner user's business: config.sh refuses root, and
# what it writes must stay the runner's. `start` stays root: it execs the wrapper.
case "$mode" in
  configure | sync)
    if [ "$(id -u)" = 0 ] && [ -n "${RUNNER_FLEET_USER:-}" ]; then
      exec setpriv --reuid="$RUNNER_FLEET_USER" --regid="$(id -g "$RUNNER_FLEET_USER")" --init-groups \
        env HOME="$home" USER="$RUNNER_FLEET_USER" "$0" "$@" || fail "cannot switch to $RUNNER_FLEET_USER (setpriv, util-linux)"
    fi
    ;;
esac
[ $# -gt 0 ] && shift
case "$mode" in
  start)
    [ $# -gt 0 ] || fail 'start needs the command to run'
    keep
    link
    exec "$@"
    ;;
  sync)
    keep
    link
    ;;
  configure)
    keep
    link
    "$home/config.sh" "$@"
    code=$?
    keep
    link
    exit "$code"
    ;;
  import)
    [ $# -eq 1 ] && [ -d "$1" ] || fail 'import needs the old volume directory'
    [ -e "$state/.runner" ] && exit 0 # registered here already: the old files are older
    for f in $files; do
      if [ -f "$1/$f" ] && [ ! -L "$1/$f" ] && [ ! -e "$state/$f" ]; then
        cp -p "$1/$f" "$state/.$f.tmp" && mv -f "$state/.$f.tmp" "$state/$f" || fail "cannot copy $f into $state"
        echo "$f"
      fi
    done
    ;;
  *)
    fail "usage: runner-state start CMD… | sync | configure ARGS… | import DIR"
    ;;
esac
