"""Routing by health against real processes: traffic moves to the faster provider."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp

from orchestrator.policies import BreakerPolicy
from tests.integration.observability_support import orchestrator, post_json, scrape
from tests.scenarios.target import chat_body
from tests.support.services import RunningService

LEAST_LATENCY_ROUTE = """
[routes."gpt-4"]
strategy = "least_latency"

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


async def test_least_latency_moves_traffic_to_the_faster_provider(
    mock_service: RunningService, tmp_path: Path
) -> None:
    config = tmp_path / "route.toml"
    config.write_text(LEAST_LATENCY_ROUTE, encoding="utf-8")
    slow_openai = {"provider": "openai", "faults": {"delay": 1.0}, "response_delay_seconds": 0.15}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{mock_service.base_url}/config/reset") as reset:
            assert reset.status == 200
        async with http.post(f"{mock_service.base_url}/config/failures", json=slow_openai) as set_:
            assert set_.status == 200
        with orchestrator(mock_service, ORCH_CONFIG=str(config)) as service:
            url = f"{service.base_url}/v1/chat/completions"
            served = []
            for _ in range(24):
                status, body, _ = await post_json(http, url, chat_body())
                assert status == 200, body
                served.append(body["provider"])
            # The order the strategy chose, and why, beside the attempts it led to.
            route = body["route"]
            assert route["strategy"] == "least_latency"
            assert route["order"][0] == "anthropic/claude-3-5-sonnet-20241022"
            assert "ms" in route["why"]
            metrics = await scrape(http, service.base_url)
        async with http.post(f"{mock_service.base_url}/config/reset"):
            pass
    # Both get measured first (an unmeasured deployment goes first), then the fast one wins.
    assert set(served[:4]) == {"openai", "anthropic"}
    assert served[-20:].count("anthropic") >= 19
    first_anthropic = metrics.value(
        "orchestrator_route_choices_total",
        model="gpt-4",
        strategy="least_latency",
        first="anthropic/claude-3-5-sonnet-20241022",
    )
    assert first_anthropic >= 19


async def test_background_probes_close_a_recovered_deployment_with_no_caller_request(
    mock_service: RunningService,
) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{mock_service.base_url}/config/reset") as reset:
            assert reset.status == 200
        fail = {"provider": "openai", "fail_next": {"count": 10_000, "fault": "500"}}
        async with http.post(f"{mock_service.base_url}/config/failures", json=fail) as r:
            assert r.status == 200
        with orchestrator(
            mock_service,
            ORCH__PROVIDERS__OPENAI__PROBE_INTERVAL_S="0.1",
            ORCH__BREAKER__OPEN_DURATION_S="30",  # longer than the test: probes must heal it
        ) as service:
            url = f"{service.base_url}/v1/chat/completions"
            while await _state(http, service, "openai/gpt-4") != "open":
                async with http.post(url, json=chat_body()) as response:
                    assert response.status == 200  # anthropic answers meanwhile
            async with http.post(f"{mock_service.base_url}/config/reset") as reset:
                assert reset.status == 200  # openai recovers; nobody calls it
            give_up_at = time.monotonic() + 10.0
            while await _state(http, service, "openai/gpt-4") != "closed":
                assert time.monotonic() < give_up_at, "the probes never closed the breaker"
                await asyncio.sleep(0.05)
        async with http.get(f"{mock_service.base_url}/log") as log:
            entries = (await log.json())["entries"]
    probes = [e for e in entries if (e["request_id"] or "").startswith("probe-")]
    assert len(probes) == BreakerPolicy().half_open_successes_needed
    assert all(e["status"] == 200 and e["provider"] == "openai" for e in probes)


async def _state(http: aiohttp.ClientSession, service: RunningService, key: str) -> str:
    async with http.get(f"{service.base_url}/health") as response:
        state: str = (await response.json())["deployments"][key]["state"]
        return state
