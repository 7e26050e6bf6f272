"""One JSON access line per request, written after the answer is sent (real processes)."""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson

from tests.integration.observability_support import orchestrator, post_json
from tests.scenarios.target import chat_body
from tests.support.services import RunningService


def _access_lines(logs: str, request_id: str) -> list[dict[str, Any]]:
    lines = (orjson.loads(line) for line in logs.splitlines() if line[:1] == "{")
    return [
        line
        for line in lines
        if line.get("event") == "access" and line.get("request_id") == request_id
    ]


async def test_each_request_gets_one_access_line_with_its_outcome(
    mock_service: RunningService,
) -> None:
    with orchestrator(mock_service) as service:
        url = f"{service.base_url}/v1/chat/completions"
        async with aiohttp.ClientSession() as http:
            ok = await post_json(http, url, chat_body(), {"X-Request-ID": "acc-ok"})
            bad = await post_json(http, url, {"model": "gpt-4"}, {"X-Request-ID": "acc-bad"})
            async with http.get(f"{service.base_url}/health") as health:
                assert health.status == 200
        assert (ok[0], bad[0]) == (200, 400)
        logs = service.wait_for_log('"request_id":"acc-bad","event":"access"')
    [served] = _access_lines(logs, "acc-ok")
    assert served["logger"] == "orchestrator.access"
    assert (served["method"], served["path"], served["status"]) == (
        "POST",
        "/v1/chat/completions",
        200,
    )
    assert (served["model"], served["provider"], served["attempts"]) == ("gpt-4", "openai", 1)
    assert served["duration_ms"] > 0
    [rejected] = _access_lines(logs, "acc-bad")
    assert rejected["status"] == 400
    assert '"path":"/health"' not in logs  # probes would drown the requests that matter
