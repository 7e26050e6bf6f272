"""Breaker actions over HTTP: who may act (401/403), and what drain, release and reset do."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from tests.integration.observability_support import (
    ANTHROPIC_SONNET,
    OPENAI_GPT4,
    get_json,
    orchestrator,
    post_json,
)
from tests.scenarios.target import chat_body
from tests.support.services import RunningService

TOKEN = "adm-test-7f3a9c"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def guarded(mock_service: RunningService) -> Iterator[RunningService]:
    with orchestrator(mock_service, ORCH_ADMIN_TOKEN=TOKEN) as service:
        yield service


@pytest.fixture
async def http(mock_service: RunningService) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{mock_service.base_url}/config/reset") as response:
            assert response.status == 200
        yield session


def _action(service: RunningService, deployment: str, action: str) -> str:
    return f"{service.base_url}/v1/providers/{deployment}/{action}"


async def _state(http: aiohttp.ClientSession, service: RunningService, deployment: str) -> str:
    _, listing = await get_json(http, f"{service.base_url}/v1/providers")
    state: str = next(e["state"] for e in listing["data"] if e["deployment"] == deployment)
    return state


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, {"Authorization": "Basic x"}],
)
async def test_missing_or_wrong_token_is_401_and_changes_nothing(
    guarded: RunningService, http: aiohttp.ClientSession, headers: dict[str, str]
) -> None:
    status, body, response_headers = await post_json(
        http, _action(guarded, OPENAI_GPT4, "open"), headers=headers
    )
    assert status == 401
    assert body["error"]["code"] == "invalid_admin_token"
    assert response_headers["WWW-Authenticate"].startswith("Bearer")
    assert await _state(http, guarded, OPENAI_GPT4) == "closed"


async def test_no_token_configured_refuses_admin_actions_with_403(
    mock_service: RunningService, http: aiohttp.ClientSession
) -> None:
    with orchestrator(mock_service, ORCH_ADMIN_TOKEN="") as service:
        status, body, _ = await post_json(http, _action(service, OPENAI_GPT4, "open"), headers=AUTH)
        assert status == 403
        assert body["error"]["code"] == "admin_disabled"
        assert "ORCH_ADMIN_TOKEN" in body["error"]["message"]
        assert await _state(http, service, OPENAI_GPT4) == "closed"


async def test_allow_unauthenticated_lets_actions_through_without_a_token(
    mock_service: RunningService, http: aiohttp.ClientSession
) -> None:
    with orchestrator(
        mock_service, ORCH_ADMIN_TOKEN="", ORCH__ADMIN__ALLOW_UNAUTHENTICATED="true"
    ) as service:
        status, body, _ = await post_json(http, _action(service, OPENAI_GPT4, "open"))
        assert status == 200
        assert body["state"] == "forced_open"


async def test_drained_provider_gets_no_traffic_until_released(
    guarded: RunningService, http: aiohttp.ClientSession, mock_service: RunningService
) -> None:
    status, body, _ = await post_json(http, _action(guarded, OPENAI_GPT4, "open"), headers=AUTH)
    assert status == 200
    assert (body["state"], body["forced_open"], body["next_probe_at"]) == (
        "forced_open",
        True,
        None,
    )
    assert body["opened_at"] is not None

    status, answer, _ = await post_json(
        http, f"{guarded.base_url}/v1/chat/completions", chat_body()
    )
    assert (status, answer["provider"], answer["attempts"]) == (200, "anthropic", 1)
    _, log = await get_json(http, f"{mock_service.base_url}/log?provider=openai")
    assert log["entries"] == []

    status, body, _ = await post_json(http, _action(guarded, OPENAI_GPT4, "release"), headers=AUTH)
    assert (status, body["state"], body["forced_open"]) == (200, "closed", False)
    status, answer, _ = await post_json(
        http, f"{guarded.base_url}/v1/chat/completions", chat_body()
    )
    assert (status, answer["provider"]) == (200, "openai")


async def test_reset_closes_a_breaker_the_failures_opened_and_clears_its_count(
    guarded: RunningService, http: aiohttp.ClientSession, mock_service: RunningService
) -> None:
    async with http.post(
        f"{mock_service.base_url}/config/failures",
        json={"provider": "openai", "fail_next": {"count": 10_000, "fault": "500"}},
    ) as response:
        assert response.status == 200
    for _ in range(10):  # the threshold is 5 failures; each request makes up to 3
        status, _, _ = await post_json(http, f"{guarded.base_url}/v1/chat/completions", chat_body())
        assert status == 200
        if await _state(http, guarded, OPENAI_GPT4) == "open":
            break
    _, listing = await get_json(http, f"{guarded.base_url}/v1/providers")
    entry = next(e for e in listing["data"] if e["deployment"] == OPENAI_GPT4)
    assert entry["consecutive_failures"] >= 5
    assert entry["next_probe_at"] > entry["opened_at"]
    assert 0 < entry["next_probe_in_s"] <= 1.0  # the scenario cool-down

    status, body, _ = await post_json(http, _action(guarded, OPENAI_GPT4, "reset"), headers=AUTH)
    assert (status, body["state"], body["consecutive_failures"]) == (200, "closed", 0)
    assert body["opened_at"] is None


async def test_unknown_deployment_is_404_listing_the_configured_ones(
    guarded: RunningService, http: aiohttp.ClientSession
) -> None:
    status, body, _ = await post_json(http, _action(guarded, "openai/gpt-5", "open"), headers=AUTH)
    assert status == 404
    assert body["error"]["code"] == "deployment_not_found"
    assert ANTHROPIC_SONNET in body["error"]["message"]


async def test_unknown_action_is_404_with_an_error_body(
    guarded: RunningService, http: aiohttp.ClientSession
) -> None:
    status, body, _ = await post_json(http, _action(guarded, OPENAI_GPT4, "explode"), headers=AUTH)
    assert status == 404
    assert body["error"]["type"] == "invalid_request_error"
    assert body["request_id"]


async def test_readiness_is_503_once_every_deployment_is_drained(
    guarded: RunningService, http: aiohttp.ClientSession
) -> None:
    _, listing = await get_json(http, f"{guarded.base_url}/v1/providers")
    keys = [entry["deployment"] for entry in listing["data"]]
    for key in keys[:-1]:
        await post_json(http, _action(guarded, key, "open"), headers=AUTH)
    status, body = await get_json(http, f"{guarded.base_url}/health/ready")
    assert (status, body["deployments"]["available"]) == (200, 1)

    await post_json(http, _action(guarded, keys[-1], "open"), headers=AUTH)
    status, body = await get_json(http, f"{guarded.base_url}/health/ready")
    assert (status, body["status"]) == (503, "unavailable")
    assert sorted(body["deployments"]["open"]) == sorted(keys)
    # Liveness is a different question: the process still serves.
    status, _ = await get_json(http, f"{guarded.base_url}/health")
    assert status == 200


async def test_journeys_need_the_admin_token_when_one_is_set(
    guarded: RunningService, http: aiohttp.ClientSession
) -> None:
    headers = {"X-Request-ID": "req-journey-guarded"}
    async with http.post(
        f"{guarded.base_url}/v1/chat/completions", json=chat_body(), headers=headers
    ) as response:
        assert response.status == 200
    url = f"{guarded.base_url}/v1/requests/req-journey-guarded"
    status, body = await get_json(http, url)
    assert (status, body["error"]["code"]) == (401, "invalid_admin_token")
    status, body = await get_json(http, url, headers={"Authorization": "Bearer wrong"})
    assert status == 401
    status, body = await get_json(http, url, headers=AUTH)
    assert (status, body["request_id"]) == (200, "req-journey-guarded")
