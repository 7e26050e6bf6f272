#!/usr/bin/env bash
# `make run`: the mock provider and the orchestrator in the foreground. Ctrl-C (or SIGTERM)
# stops both; if either exits on its own, the other is stopped too.
set -uo pipefail
PY=${PY:-.venv/bin/python}
HOST=${HOST:-127.0.0.1}
MOCK_PORT=${MOCK_PORT:-8001}
ORCH_PORT=${ORCH_PORT:-8080}

"$PY" -m mock_provider --host "$HOST" --port "$MOCK_PORT" &
mock_pid=$!
ORCH_MOCK_BASE_URL=${ORCH_MOCK_BASE_URL:-http://127.0.0.1:$MOCK_PORT} \
    "$PY" -m orchestrator --host "$HOST" --port "$ORCH_PORT" &
orch_pid=$!

stop() {
    trap - INT TERM
    kill -TERM "$orch_pid" "$mock_pid" 2>/dev/null
    wait "$orch_pid" "$mock_pid" 2>/dev/null
    exit 0
}
trap stop INT TERM

# The banner only once both answer /health (or say why not): a busy port must not be
# announced as a running service.
ready() { "$PY" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)" "$1" 2>/dev/null; }
for _ in $(seq 1 100); do
    if ! kill -0 "$mock_pid" 2>/dev/null || ! kill -0 "$orch_pid" 2>/dev/null; then
        break
    fi
    if ready "http://$HOST:$MOCK_PORT/health" && ready "http://$HOST:$ORCH_PORT/health"; then
        echo "orchestrator: http://$HOST:$ORCH_PORT   mock provider: http://$HOST:$MOCK_PORT   (Ctrl-C stops both)" >&2
        break
    fi
    sleep 0.1
done
wait -n "$mock_pid" "$orch_pid"
status=$?
echo "run-local: a service exited (status $status); stopping the other" >&2
kill -TERM "$orch_pid" "$mock_pid" 2>/dev/null
wait 2>/dev/null
exit "$status"
