#!/bin/bash
# Runner simulator — STANDS IN for actions/runner's env.sh
# (src/Misc/layoutroot/env.sh), sourced by config.sh in the runner root.
# Same effect, own words: writes $PATH to .path, creates .env if missing and
# appends LANG, JAVA_HOME, ANT_HOME, M2_HOME, ANDROID_HOME, ANDROID_SDK_ROOT,
# GRADLE_HOME, NVM_BIN, NVM_PATH, LD_LIBRARY_PATH, PERL5LIB when set and not
# already in .env.
existing=""
if [ -f .env ]; then existing=$(cat .env); else touch .env; fi
echo $PATH > .path
for name in LANG JAVA_HOME ANT_HOME M2_HOME ANDROID_HOME ANDROID_SDK_ROOT GRADLE_HOME NVM_BIN NVM_PATH LD_LIBRARY_PATH PERL5LIB; do
  if [ "${existing#*${name}=}" = "$existing" ] && [ -n "${!name}" ]; then
    echo "${name}=${!name}" >> .env
  fi
done
