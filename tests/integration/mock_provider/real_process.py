"""Talking to the mock running as a real process (``python -m mock_provider``)."""

from __future__ import annotations

import urllib.parse
import urllib.request
from typing import Any

import orjson

from tests.support.services import RunningService

CONTROL_TIMEOUT_S = 5.0


def control(service: RunningService, method: str, path: str, body: Any = None) -> Any:
    """Call the control API; any status but 200 raises (urllib's HTTPError) and fails the test."""
    request = urllib.request.Request(
        f"{service.base_url}{path}",
        data=None if body is None else orjson.dumps(body),
        headers={"Content-Type": "application/json"},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=CONTROL_TIMEOUT_S) as response:
        return orjson.loads(response.read())


def set_plan(service: RunningService, plan: dict[str, Any]) -> None:
    control(service, "POST", "/config/failures", plan)


def log_entries(service: RunningService, **query: str) -> list[dict[str, Any]]:
    suffix = f"?{urllib.parse.urlencode(query)}" if query else ""
    entries: list[dict[str, Any]] = control(service, "GET", f"/log{suffix}")["entries"]
    return entries
