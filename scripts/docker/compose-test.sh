#!/usr/bin/env bash
# Bring the stack up from the built images, wait until healthy, run the compose tests against
# it, and always tear it down, even when a step fails. Exits with the tests' status.
#
#   PY            interpreter with the test extras (default .venv/bin/python)
#   PYTEST_ARGS   extra pytest arguments
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
compose=scripts/docker/compose.sh
export ORCH_URL=${ORCH_URL:-http://127.0.0.1:${ORCH_HOST_PORT:-8080}}
export MOCK_URL=${MOCK_URL:-http://127.0.0.1:${MOCK_HOST_PORT:-8001}}
# The test overlay; exported so the tests' own compose calls (restarts) see the same project.
export COMPOSE_FILE=docker-compose.yml:tests/compose/compose.scenarios.yml
COMPOSE_TEST_ENV_FILE=$(mktemp /tmp/compose-test-env.XXXXXX)
export COMPOSE_TEST_ENV_FILE

log() { echo "compose-test: $*" >&2; }

teardown() {
    local status=$?
    if [ "$status" -ne 0 ]; then
        log "failed (exit $status); last service logs:"
        $compose logs --no-color --tail=40 >&2 || true
    fi
    $compose down --remove-orphans --timeout 40 >&2 || log "WARNING: compose down failed"
    rm -f "$COMPOSE_TEST_ENV_FILE"
    exit "$status"
}
trap teardown EXIT
trap 'exit 130' INT TERM

# The scenario timings (one definition for both targets) and a per-run admin token.
PY=$PY scripts/docker/compose-test-env.sh "$COMPOSE_TEST_ENV_FILE"
# docker-compose.yml passes the host's ORCH_ADMIN_TOKEN through, and `environment:` wins over
# the overlay's env_file: so the per-run token is the host's for this run.
ORCH_ADMIN_TOKEN=$(sed -n 's/^ORCH_ADMIN_TOKEN=//p' "$COMPOSE_TEST_ENV_FILE")
export ORCH_ADMIN_TOKEN

started=$(date +%s.%N)
elapsed_s() { awk -v from="$started" -v to="$(date +%s.%N)" 'BEGIN { printf "%.1f", to - from }'; }
# --no-build: the images come from build-images.sh (`make images`), never silently rebuilt here.
$compose up -d --no-build
scripts/docker/wait-healthy.sh
log "stack healthy $(elapsed_s) s after up"

# shellcheck disable=SC2086  # PYTEST_ARGS is a list of words
"$PY" -m pytest -m compose tests/compose ${PYTEST_ARGS:-}
