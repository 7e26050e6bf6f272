#!/usr/bin/env bash
# Wait until every service of the compose project reports healthy. Compose v1 has no
# `up --wait`, so this polls Docker's health status for both CLIs alike. Fails fast, with the
# service's logs, when a container exits, restarts or turns unhealthy.
#
#   WAIT_TIMEOUT_S   give up after this long (default 120)
set -euo pipefail
cd "$(dirname "$0")/../.."
WAIT_TIMEOUT_S=${WAIT_TIMEOUT_S:-120}
compose=scripts/docker/compose.sh

log() { echo "wait-healthy: $*" >&2; }
fail() {
    log "ERROR: $1"
    [ -n "${2:-}" ] && $compose logs --no-color --tail=50 "$2" >&2
    exit 1
}

# Prints "<status> <restart count> <health>", or "none 0 none" before the container exists.
service_state() {
    local id
    # -a: Compose v2 lists only running containers otherwise, hiding one that exited.
    id=$($compose ps -a -q "$1" 2>/dev/null || true)
    if [ -z "$id" ]; then
        echo "none 0 none"
    else
        docker inspect -f \
            '{{.State.Status}} {{.RestartCount}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' \
            "$id"
    fi
}

mapfile -t services < <($compose config --services)
[ "${#services[@]}" -gt 0 ] || fail "compose file lists no services"
deadline=$((SECONDS + WAIT_TIMEOUT_S))
while :; do
    pending=()
    for service in "${services[@]}"; do
        read -r status restarts health <<<"$(service_state "$service")"
        case "$status $health" in
            "running healthy") continue ;;
            exited* | dead* | restarting* | "running unhealthy")
                fail "$service is $status (health: $health)" "$service" ;;
        esac
        # A service that crashed and came back under `restart:` is not one to wait for.
        [ "$restarts" = 0 ] || fail "$service restarted $restarts times" "$service"
        pending+=("$service")
    done
    [ "${#pending[@]}" -eq 0 ] && break
    [ "$SECONDS" -lt "$deadline" ] || fail "not healthy after ${WAIT_TIMEOUT_S} s: ${pending[*]}" "${pending[0]}"
    sleep 0.5
done
log "healthy: ${services[*]}"
