"""The compose stack is up, healthy and wired: the orchestrator reaches the mock by name."""

from __future__ import annotations

import pytest

from tests.scenarios.target import Target, chat_body

pytestmark = pytest.mark.compose


async def test_mock_provider_reports_healthy(target: Target) -> None:
    async with target.http.get(f"{target.mock_url}/health") as response:
        assert response.status == 200


async def test_orchestrator_reports_healthy_with_both_providers_configured(
    target: Target,
) -> None:
    health = await target.health()

    assert health["status"] == "ok"
    providers = {key.split("/", 1)[0] for key in health["deployments"]}
    assert providers == {"openai", "anthropic"}


async def test_orchestrator_answers_through_the_mock_provider_container(target: Target) -> None:
    status, body, headers = await target.chat(
        chat_body(), headers={"X-Request-ID": "compose-smoke-1"}
    )

    assert status == 200, body
    assert body["content"]
    assert headers["X-Request-ID"] == "compose-smoke-1"
    # The mock container saw the call: the orchestrator found it by its service name.
    seen = await target.mock_log(request_id="compose-smoke-1")
    assert [entry["status"] for entry in seen] == [200]
