#!/usr/bin/env bash
# Build both service images from the repository root, timing each and reporting its size.
#
#   PYTHON_IMAGE  base image; default: local/python:3.11-bookworm when it exists on this
#                 machine (no registry reachable, see build-base-image.sh), else python:3.12-slim
#   WHEELHOUSE    1: fill wheelhouse/ first (wheelhouse.sh) so the build needs no index;
#                 default 1 for a local/* base, else 0 (the build uses the index, or an
#                 existing wheelhouse/ as is)
#   ORCH_IMAGE, MOCK_IMAGE   tags (defaults match docker-compose.yml)
set -euo pipefail
cd "$(dirname "$0")/../.."
LOCAL_BASE=local/python:3.11-bookworm
if [ -z "${PYTHON_IMAGE:-}" ]; then
    if docker image inspect "$LOCAL_BASE" >/dev/null 2>&1; then
        PYTHON_IMAGE=$LOCAL_BASE
    else
        PYTHON_IMAGE=python:3.12-slim
    fi
fi
case "$PYTHON_IMAGE" in local/*) default_wheelhouse=1 ;; *) default_wheelhouse=0 ;; esac
WHEELHOUSE=${WHEELHOUSE:-$default_wheelhouse}
ORCH_IMAGE=${ORCH_IMAGE:-llm-orchestrator:local}
MOCK_IMAGE=${MOCK_IMAGE:-llm-mock-provider:local}
export PYTHON_IMAGE

log() { echo "build-images: $*" >&2; }

if [ "$WHEELHOUSE" = 1 ]; then
    scripts/docker/wheelhouse.sh
fi

build() {
    local target=$1 tag=$2 started=$SECONDS previous
    previous=$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)
    log "building $tag (Dockerfile target $target) on $PYTHON_IMAGE"
    # The legacy builder's deprecation banner is noise; real errors still reach stderr.
    docker build --quiet --target "$target" --tag "$tag" \
        --build-arg PYTHON_IMAGE="$PYTHON_IMAGE" . >/dev/null \
        2> >(grep -vE '^[[:space:]]*$|DEPRECATED: The legacy builder|buildx component|docs.docker.com/go/buildx' >&2)
    log "built $tag in $((SECONDS - started)) s, $(docker image inspect -f '{{.Size}}' "$tag" \
        | awk '{printf "%.0f MB", $1 / 1e6}')"
    # The image this tag replaced is now unnamed; drop it unless a container still uses it.
    if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect -f '{{.Id}}' "$tag")" ]; then
        docker image rm "$previous" >/dev/null 2>&1 || true
    fi
}

build mock-provider "$MOCK_IMAGE"
build orchestrator "$ORCH_IMAGE"
