# Sourced by the wrapper's job hooks: runs a hook the user had configured the
# way actions/runner runs hooks (bash for shell scripts when present, pwsh for .ps1).
run_user_hook() {
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
