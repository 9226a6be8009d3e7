#!/usr/bin/env bash
# The base image the runner simulator is built on, offline (no registry is
# reachable here): Debian bookworm minbase with sudo (the official runner
# image has it), made with debootstrap from the apt mirror and imported.
# Shared by the test ground (tests/e2e/setup.sh) and make demo (demo/ground.ts).
#   standins/runner/base-image.sh TAG      needs root and debootstrap
set -euo pipefail
tag=${1:?usage: base-image.sh TAG}
[ "$(id -u)" -eq 0 ] || { echo "base-image: building $tag with debootstrap needs root" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "base-image: debootstrap is not installed: apt-get install debootstrap (or run make test-ground)" >&2; exit 1; }
dir=$(mktemp -d /var/tmp/minbase.XXXXXX)
trap 'rm -rf "$dir"' EXIT
debootstrap --variant=minbase --include=sudo bookworm "$dir"
rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
tar -C "$dir" -c . | docker import - "$tag"
