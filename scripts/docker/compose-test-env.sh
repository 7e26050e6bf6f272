#!/usr/bin/env bash
# Write the orchestrator's environment for the compose test stack (the env_file of
# tests/compose/compose.scenarios.yml) to the file named by $1:
#   - the scenario timings, from the one definition in tests/scenarios/target.py (SCENARIO_ENV);
#   - ORCH_ADMIN_TOKEN, fresh per run: the tests reset breakers between scenarios through the
#     admin API and read the token back from this file.
# The file holds a secret, so it is created private (mode 600).
#
#   PY   interpreter that can import the tests package (default .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
env_file=${1:?usage: compose-test-env.sh FILE}

(umask 077 && "$PY" - >"$env_file") <<'PY'
import secrets

from tests.scenarios.target import SCENARIO_ENV

for name, value in {**SCENARIO_ENV, "ORCH_ADMIN_TOKEN": secrets.token_urlsafe(24)}.items():
    print(f"{name}={value}")
PY
