#!/bin/bash
# Runner simulator — stands in for actions/runner's safe_sleep.sh: sleep N seconds.
sleep "$1"
