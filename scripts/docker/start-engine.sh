#!/usr/bin/env bash
# Make a Docker engine available: reuse a running one, else install (Debian packages) and start
# dockerd, then wait until `docker info` answers.
#
# When this script starts dockerd itself it writes the daemon's PID to $DOCKERD_PIDFILE, so the
# caller (ci-compose.sh, stop-engine.sh) stops exactly the daemon it started and nothing else.
# Exits non-zero with a message naming the cause when the engine cannot be started.
set -euo pipefail

DOCKERD_PIDFILE=${DOCKERD_PIDFILE:-/tmp/orch-dockerd.pid}
DOCKERD_LOG=${DOCKERD_LOG:-/tmp/orch-dockerd.log}
ENGINE_READY_TIMEOUT_S=${ENGINE_READY_TIMEOUT_S:-60}

log() { echo "start-engine: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@" || die "'$*' needs root and passwordless sudo is not available"
    else
        die "'$*' needs root (no sudo on this machine)"
    fi
}

engine_answers() { docker info >/dev/null 2>&1; }

install_missing_packages() {
    local missing=()
    command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
    command -v docker >/dev/null 2>&1 || missing+=(docker.io)
    if ! command -v docker-compose >/dev/null 2>&1 && ! docker compose version >/dev/null 2>&1; then
        missing+=(docker-compose)
    fi
    # debootstrap builds the local base image when no registry is reachable.
    command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
    [ "${#missing[@]}" -eq 0 ] && return 0
    command -v apt-get >/dev/null 2>&1 \
        || die "missing ${missing[*]} and no apt-get to install them; install Docker by hand"
    log "installing ${missing[*]} via apt"
    as_root apt-get update -qq || die "apt-get update failed"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
        || die "apt-get install ${missing[*]} failed"
}

start_dockerd() {
    log "starting dockerd (log: $DOCKERD_LOG)"
    # setsid: the daemon must outlive this script and not receive the caller's Ctrl-C.
    as_root setsid nohup dockerd >"$DOCKERD_LOG" 2>&1 </dev/null &
    local launcher=$!
    local deadline=$((SECONDS + ENGINE_READY_TIMEOUT_S))
    until engine_answers; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            tail -n 20 "$DOCKERD_LOG" >&2 || true
            die "dockerd did not answer 'docker info' within ${ENGINE_READY_TIMEOUT_S} s"
        fi
        if ! kill -0 "$launcher" 2>/dev/null && ! pgrep -x dockerd >/dev/null; then
            tail -n 20 "$DOCKERD_LOG" >&2 || true
            die "dockerd exited during start-up (see $DOCKERD_LOG)"
        fi
        sleep 0.5
    done
    # The daemon records its own PID; keep a copy that marks "started by us".
    local pid
    pid=$(cat /var/run/docker.pid 2>/dev/null || pgrep -xn dockerd || true)
    [ -n "$pid" ] || die "dockerd answers but its PID could not be found"
    echo "$pid" >"$DOCKERD_PIDFILE"
    log "engine ready after ${SECONDS} s (dockerd pid $pid)"
}

main() {
    if engine_answers; then
        log "engine already running; reusing it"
        return 0
    fi
    install_missing_packages
    if engine_answers; then
        # Installing docker.io may start the daemon through the package's init hooks.
        log "engine started by the package install; reusing it"
        return 0
    fi
    start_dockerd
}

main "$@"
