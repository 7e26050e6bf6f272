"""No API key, admin token or Authorization header ever reaches a log line.

Both services run with real keys configured, at DEBUG, through successes, retries,
failovers, timeouts, provider rejections, a wrong upstream key, admin calls with right and
wrong tokens and a client sending its own bearer token; then both captured logs are
searched for every secret, whole and by its middle (a masked key shows only its ends).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import aiohttp
import openai
import pytest

from tests.integration.observability_support import OPENAI_GPT4, orchestrator, post_json
from tests.scenarios.target import chat_body
from tests.support.services import RunningService, start_service

OPENAI_KEY = "sk-proj-OPENAIMIDDLE8d41f0c2e9b7a5-x9Qz"
ANTHROPIC_KEY = "sk-ant-api03-ANTHROPICMIDDLE3c9e71b0d4-Zq7w"
WRONG_OPENAI_KEY = "sk-proj-WRONGMIDDLE0a1b2c3d4e5f6-Kk3e"
ADMIN_TOKEN = "adm-ADMINMIDDLE5e6f7a8b9c0d-tok1"
WRONG_ADMIN_TOKEN = "adm-GUESSMIDDLE1a2b3c4d5e6f-tok2"
CLIENT_KEY = "sk-client-CLIENTMIDDLE9f8e7d6c5b4a-cl1"
SECRETS = (OPENAI_KEY, ANTHROPIC_KEY, WRONG_OPENAI_KEY, ADMIN_TOKEN, WRONG_ADMIN_TOKEN, CLIENT_KEY)


@pytest.fixture
def keyed_mock() -> Iterator[RunningService]:
    service = start_service(
        "mock_provider",
        [
            "--seed", "11",
            "--openai-key", OPENAI_KEY,
            "--anthropic-key", ANTHROPIC_KEY,
            "--log-level", "DEBUG",
        ],
    )  # fmt: skip
    yield service
    service.stop()


def _env(openai_key: str) -> dict[str, str]:
    return {
        "OPENAI_API_KEY": openai_key,
        "ANTHROPIC_API_KEY": ANTHROPIC_KEY,
        "ORCH_ADMIN_TOKEN": ADMIN_TOKEN,
        "ORCH__SERVER__LOG_LEVEL": "DEBUG",
    }


async def _faults(http: aiohttp.ClientSession, mock: RunningService, plan: dict[str, Any]) -> None:
    async with http.post(f"{mock.base_url}/config/failures", json=plan) as response:
        assert response.status == 200, await response.text()


async def _traffic(http: aiohttp.ClientSession, url: str, mock: RunningService) -> None:
    """Every path a request can take, each asserted so a silent no-op cannot pass."""
    async with openai.AsyncOpenAI(
        api_key=CLIENT_KEY, base_url=f"{url}/v1", max_retries=0
    ) as client:
        completion = await client.chat.completions.create(
            model="gpt-4", messages=[{"role": "user", "content": "hi"}]
        )
        assert (completion.model_extra or {})["provider"] == "openai"
    chat = f"{url}/v1/chat/completions"
    await _faults(http, mock, {"provider": "openai", "script": ["500", "ok"]})
    status, body, _ = await post_json(http, chat, chat_body())
    assert (status, body["attempts"]) == (200, 2)
    await _faults(http, mock, {"provider": "openai", "script": ["429"]})
    status, body, _ = await post_json(http, chat, chat_body())
    assert (status, body["provider"]) == (200, "anthropic")
    await _faults(
        http, mock, {"provider": "both", "faults": {"timeout": 1.0}, "timeout_duration_seconds": 5}
    )
    status, _, _ = await post_json(http, chat, chat_body(model="gpt-4o-mini"))
    assert status == 504
    await _faults(http, mock, {"provider": "both", "script": ["content_policy"]})
    status, _, _ = await post_json(http, chat, chat_body())
    assert status == 400
    status, _, _ = await post_json(http, chat, {"model": "gpt-4", "messages": "nope"})
    assert status == 400
    admin = f"{url}/v1/providers/{OPENAI_GPT4}/reset"
    for token, expected in ((WRONG_ADMIN_TOKEN, 401), (ADMIN_TOKEN, 200)):
        status, _, _ = await post_json(http, admin, headers={"Authorization": f"Bearer {token}"})
        assert status == expected


def _assert_no_secret(service: RunningService, min_lines: int) -> None:
    logs = service.logs()
    # The search means something only if the traffic was logged at all.
    assert len(logs.splitlines()) >= min_lines, f"{service.name} logged too little:\n{logs}"
    for secret in SECRETS:
        assert secret not in logs, f"{service.name} logged {secret[:8]}..."
        assert secret[4:-5] not in logs, f"{service.name} logged the middle of {secret[:8]}..."


async def test_no_key_or_token_appears_in_either_services_logs(
    keyed_mock: RunningService,
) -> None:
    async with aiohttp.ClientSession() as http:
        with orchestrator(keyed_mock, **_env(OPENAI_KEY)) as service:
            await _traffic(http, service.base_url, keyed_mock)
        async with http.post(f"{keyed_mock.base_url}/config/reset") as response:
            assert response.status == 200
        # A wrong upstream key: the mock answers 401 (quoting a masked key), we fail over.
        with orchestrator(keyed_mock, **_env(WRONG_OPENAI_KEY)) as wrong:
            status, body, _ = await post_json(
                http, f"{wrong.base_url}/v1/chat/completions", chat_body()
            )
            assert (status, body["provider"]) == (200, "anthropic")
            assert body["attempt_log"][0]["outcome"] == "auth_error"
        _assert_no_secret(service, min_lines=30)
        _assert_no_secret(wrong, min_lines=3)
        _assert_no_secret(keyed_mock, min_lines=10)
        assert "auth_error" in wrong.logs()
