#!/usr/bin/env bash
# Stop the dockerd that start-engine.sh started (PID in $DOCKERD_PIDFILE); never any other.
set -euo pipefail

DOCKERD_PIDFILE=${DOCKERD_PIDFILE:-/tmp/orch-dockerd.pid}
STOP_TIMEOUT_S=${STOP_TIMEOUT_S:-30}

log() { echo "stop-engine: $*" >&2; }

if [ ! -s "$DOCKERD_PIDFILE" ]; then
    log "no engine started by start-engine.sh; nothing to stop"
    exit 0
fi
pid=$(cat "$DOCKERD_PIDFILE")
if ! kill -0 "$pid" 2>/dev/null; then
    log "dockerd $pid already gone"
    rm -f "$DOCKERD_PIDFILE"
    exit 0
fi
log "stopping dockerd $pid"
kill -TERM "$pid"
deadline=$((SECONDS + STOP_TIMEOUT_S))
while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
        log "dockerd $pid ignored SIGTERM for ${STOP_TIMEOUT_S} s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        break
    fi
    sleep 0.2
done
rm -f "$DOCKERD_PIDFILE"
log "stopped"
