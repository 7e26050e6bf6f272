"""The official openai SDK pointed at the orchestrator: answers, errors, and no double retries."""

from __future__ import annotations

import aiohttp
import openai
import pytest

from tests.integration.observability_support import orchestrator
from tests.scenarios.target import Target, chat_body
from tests.support.services import RunningService


def _client(target: Target, max_retries: int = 2) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        api_key="sk-test", base_url=f"{target.orchestrator_url}/v1", max_retries=max_retries
    )


async def test_sdk_gets_content_back(target: Target) -> None:
    async with _client(target) as client:
        completion = await client.chat.completions.create(
            model="gpt-4", messages=[{"role": "user", "content": "Say hello"}]
        )
    assert completion.choices[0].message.content
    assert completion.model == "gpt-4"
    assert completion.usage is not None
    assert completion.usage.total_tokens > 0
    extra = completion.model_extra or {}
    assert extra["provider"] == "openai"
    assert extra["attempts"] == 1


async def test_sdk_sees_bad_request_with_our_message(target: Target) -> None:
    async with _client(target) as client:
        with pytest.raises(openai.BadRequestError) as caught:
            await client.chat.completions.create(
                model="gpt-4",
                messages=[{"role": "user", "content": "hi"}],
                temperature=3.5,
            )
    assert caught.value.status_code == 400
    assert "temperature" in str(caught.value)
    assert await target.mock_log() == []


async def test_sdk_does_not_retry_our_final_failure(target: Target) -> None:
    await target.set_faults({"provider": "both", "fail_next": {"count": 10_000, "fault": "500"}})
    async with _client(target, max_retries=3) as client:
        with pytest.raises(openai.APIStatusError) as caught:
            await client.chat.completions.create(
                **chat_body(), extra_headers={"X-Request-ID": "sdk-fail"}
            )
    assert caught.value.status_code == 502
    # One orchestrator request (the SDK did not retry): its attempts are all the mock saw.
    body = caught.value.body
    assert isinstance(body, dict)
    seen = await target.mock_log()
    assert {e["request_id"] for e in seen} == {"sdk-fail"}
    assert len(seen) == 6  # the default total attempt limit, not 6 x (1 + SDK retries)


async def test_sdk_with_caller_keys_on_needs_a_configured_key(mock_service: RunningService) -> None:
    key = "sk-caller-sdk-0123456789abcdef"
    # The mock lives for the session: start from a healthy one.
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{mock_service.base_url}/config/reset") as reset,
    ):
        assert reset.status == 200
    with orchestrator(mock_service, ORCH_CALLER_KEYS=f"sdk-team:{key}") as service:
        base_url = f"{service.base_url}/v1"
        async with openai.AsyncOpenAI(api_key="sk-wrong-000000000000", base_url=base_url) as wrong:
            with pytest.raises(openai.AuthenticationError) as caught:
                await wrong.chat.completions.create(
                    model="gpt-4", messages=[{"role": "user", "content": "hi"}]
                )
        assert caught.value.status_code == 401
        async with openai.AsyncOpenAI(api_key=key, base_url=base_url) as right:
            completion = await right.chat.completions.create(
                model="gpt-4", messages=[{"role": "user", "content": "hi"}]
            )
        assert completion.choices[0].message.content
        line = service.wait_for_log('"caller":"sdk-team"')
        assert key not in line
