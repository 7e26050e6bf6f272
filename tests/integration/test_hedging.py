"""Hedged requests against real processes: a slow primary and a fast secondary give the
fast answer at about ``hedge_after_s`` plus the secondary's time; the loser is cancelled
upstream, and the attempt log, the journey and the metrics say who won."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.integration.observability_support import orchestrator, post_json, scrape
from tests.scenarios.target import chat_body
from tests.support.services import RunningService

HEDGE_AFTER_S = 0.15
SLOW_S = 2.0
ROUTE = f"""
[routes."gpt-4"]
hedge_after_s = {HEDGE_AFTER_S}
hedge_budget = 1.0

[[routes."gpt-4".deployments]]
provider = "openai"
model = "gpt-4"
context_window_tokens = 8192
max_output_tokens = 4096

[[routes."gpt-4".deployments]]
provider = "anthropic"
model = "claude-3-5-sonnet-20241022"
context_window_tokens = 200000
max_output_tokens = 8192
"""


@pytest.fixture
def hedged(mock_service: RunningService, tmp_path: Path) -> Iterator[RunningService]:
    config = tmp_path / "hedged.toml"
    config.write_text(ROUTE, encoding="utf-8")
    with orchestrator(mock_service, ORCH_CONFIG=str(config)) as service:
        yield service


async def _mock(http: aiohttp.ClientSession, mock: RunningService, plan: dict[str, Any]) -> None:
    async with http.post(f"{mock.base_url}/config/reset") as reset:
        assert reset.status == 200
    if plan:
        async with http.post(f"{mock.base_url}/config/failures", json=plan) as response:
            assert response.status == 200


async def test_a_slow_primary_is_beaten_by_the_hedge(
    hedged: RunningService, mock_service: RunningService
) -> None:
    slow = {"provider": "openai", "faults": {"delay": 1.0}, "response_delay_seconds": SLOW_S}
    async with aiohttp.ClientSession() as http:
        await _mock(http, mock_service, slow)
        url = f"{hedged.base_url}/v1/chat/completions"
        for stream in (False, True):
            started = time.monotonic()
            async with http.post(
                url,
                json=chat_body(stream=stream, stream_mode="buffered") if stream else chat_body(),
                headers={"X-Request-ID": f"hedge-{stream}"},
            ) as response:
                assert response.status == 200
                raw = await response.read()
            elapsed_s = time.monotonic() - started
            assert HEDGE_AFTER_S <= elapsed_s < HEDGE_AFTER_S + 0.5  # not the 2 s primary
            assert b"anthropic" in raw or b"claude" in raw
            async with http.get(f"{hedged.base_url}/v1/requests/hedge-{stream}") as journey:
                log = (await journey.json())["attempt_log"]
            assert [(a["provider"], a["outcome"]) for a in log] == [
                ("openai", "hedge_lost"),
                ("anthropic", "success"),
            ]
        metrics = await scrape(http, hedged.base_url)
        async with http.get(f"{mock_service.base_url}/log", params={"provider": "openai"}) as r:
            openai_calls = (await r.json())["entries"]
    won = metrics.value(
        "orchestrator_hedges_total",
        primary="openai/gpt-4",
        hedge="anthropic/claude-3-5-sonnet-20241022",
        winner="hedge",
    )
    assert won == 2
    # The loser was cancelled upstream: the mock saw its client leave.
    assert all(entry["disconnected"] for entry in openai_calls)


async def test_a_fast_primary_is_never_hedged(
    hedged: RunningService, mock_service: RunningService
) -> None:
    async with aiohttp.ClientSession() as http:
        await _mock(http, mock_service, {})
        for _ in range(5):
            status, body, _ = await post_json(http, f"{hedged.base_url}/v1/chat/completions",
                                              chat_body())  # fmt: skip
            assert (status, body["provider"], body["attempts"]) == (200, "openai", 1)
        async with http.get(f"{mock_service.base_url}/log") as r:
            assert {e["provider"] for e in (await r.json())["entries"]} == {"openai"}
