#!/usr/bin/env bash
# Build a minimal Debian bookworm image with Python 3.11 from the Debian archive, for machines
# where no container registry is reachable. Cached by tag: an existing image is reused.
#
#   BASE_IMAGE   tag to build (default local/python:3.11-bookworm)
#   DEBIAN_MIRROR, DEBIAN_SUITE   where debootstrap fetches packages
#   REBUILD=1    rebuild even when the tag exists
set -euo pipefail

BASE_IMAGE=${BASE_IMAGE:-local/python:3.11-bookworm}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEBIAN_SUITE=${DEBIAN_SUITE:-bookworm}
# python3-venv brings ensurepip's wheels, so the image can make a venv; nothing else is needed.
PACKAGES=python3,python3-venv,ca-certificates

log() { echo "build-base-image: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

if [ "${REBUILD:-0}" != 1 ] && docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    log "$BASE_IMAGE exists; reusing it (REBUILD=1 to rebuild)"
    exit 0
fi
command -v debootstrap >/dev/null 2>&1 || die "debootstrap not installed (scripts/docker/start-engine.sh installs it)"
[ "$(id -u)" -eq 0 ] || die "debootstrap needs root"

rootfs=$(mktemp -d /tmp/pyroot.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
started=$SECONDS

log "debootstrap $DEBIAN_SUITE ($PACKAGES) from $DEBIAN_MIRROR"
debootstrap --variant=minbase --include="$PACKAGES" "$DEBIAN_SUITE" "$rootfs" "$DEBIAN_MIRROR" \
    >"$rootfs.log" 2>&1 || { tail -n 30 "$rootfs.log" >&2; die "debootstrap failed (log: $rootfs.log)"; }
rm -f "$rootfs.log"

# Nothing in the image installs Debian packages later, so the package caches and docs are dead
# weight (about a third of the rootfs).
rm -rf "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* \
    "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/* \
    "$rootfs"/var/log/*

log "importing as $BASE_IMAGE"
tar -C "$rootfs" -c . | docker import \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["python3"]' \
    - "$BASE_IMAGE" >/dev/null
log "built $BASE_IMAGE in $((SECONDS - started)) s ($(docker image inspect -f '{{.Size}}' "$BASE_IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
