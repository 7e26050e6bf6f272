#!/usr/bin/env bash
# The CI Compose job on a machine with no registry access (see ../shared/ENVIRONMENT.md):
# engine, local base image, wheelhouse, both images, then `compose-test` (up, wait healthy,
# tests, down). Stops everything it started, including a dockerd it had to start, whatever
# the outcome. Prints each step's duration.
#
#   PYTHON_IMAGE  base image (default local/python:3.11-bookworm, built here if missing)
#   KEEP_ENGINE=1 leave a dockerd this job started running (for a following job to reuse)
set -euo pipefail
cd "$(dirname "$0")/../.."
export PYTHON_IMAGE=${PYTHON_IMAGE:-local/python:3.11-bookworm}
export WHEELHOUSE=1
# Unique per run: only a daemon started by *this* run is ever recorded, hence ever stopped.
DOCKERD_PIDFILE=$(mktemp -u /tmp/ci-dockerd.XXXXXX.pid)
export DOCKERD_PIDFILE
scripts=scripts/docker
job_started=$SECONDS

log() { echo "ci-compose: $*" >&2; }

step() {
    local name=$1 started=$SECONDS
    shift
    log "── $name"
    "$@"
    log "── $name: $((SECONDS - started)) s"
}

cleanup() {
    local status=$?
    if [ "${KEEP_ENGINE:-0}" = 1 ]; then
        [ -s "$DOCKERD_PIDFILE" ] && log "leaving dockerd $(cat "$DOCKERD_PIDFILE") running"
    else
        "$scripts/stop-engine.sh" || log "WARNING: could not stop the engine"
    fi
    log "$([ "$status" -eq 0 ] && echo passed || echo "FAILED (exit $status)") in $((SECONDS - job_started)) s"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "docker engine" "$scripts/start-engine.sh"
case "$PYTHON_IMAGE" in
    local/*) step "base image $PYTHON_IMAGE" env BASE_IMAGE="$PYTHON_IMAGE" "$scripts/build-base-image.sh" ;;
esac
# `make compose-test` = venv, wheelhouse, both images, then compose-test.sh (always tears down).
step "compose-test" make --no-print-directory compose-test
