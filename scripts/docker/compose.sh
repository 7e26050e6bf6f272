#!/usr/bin/env bash
# Run Compose from the repository root with whichever CLI this machine has: the v2 plugin
# (`docker compose`, what most users have) or the v1 binary (`docker-compose`).
set -euo pipefail
cd "$(dirname "$0")/../.."
if docker compose version >/dev/null 2>&1; then
    exec docker compose "$@"
elif command -v docker-compose >/dev/null 2>&1; then
    exec docker-compose "$@"
fi
echo "compose.sh: ERROR: neither 'docker compose' (v2) nor 'docker-compose' (v1) is installed" >&2
exit 1
