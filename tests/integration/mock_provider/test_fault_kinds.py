"""Every fault kind, for both formats, through real HTTP."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestClient

from mock_provider.answers import answer_text
from mock_provider.faults import provider_rng
from tests.integration.mock_provider.conftest import SEED
from tests.integration.mock_provider.helpers import (
    PROMPT,
    body_for,
    log_entries,
    parse_sse,
    set_plan,
)

Client = TestClient[Any, Any]
PROVIDERS = ["openai", "anthropic"]
SHORT_S = 0.15  # long enough to measure, short enough to keep the suite fast


async def inject(mock: Client, provider: str, kind: str, **params: Any) -> None:
    await set_plan(mock, {"provider": provider, "script": [kind], **params})


async def last_entry(mock: Client, provider: str) -> dict[str, Any]:
    return (await log_entries(mock, provider=provider))[-1]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_ok_answers_normally(mock: Client, provider: str) -> None:
    await inject(mock, provider, "ok")
    path, body = body_for(provider)
    assert (await mock.post(path, json=body)).status == 200
    assert (await last_entry(mock, provider))["fault"] == "ok"


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_timeout_hangs_then_closes_without_an_answer(mock: Client, provider: str) -> None:
    await inject(mock, provider, "timeout", timeout_duration_seconds=SHORT_S)
    path, body = body_for(provider)
    started = time.monotonic()
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await mock.post(path, json=body)
    assert time.monotonic() - started >= SHORT_S
    entry = await last_entry(mock, provider)
    assert (entry["fault"], entry["status"], entry["disconnected"]) == ("timeout", None, False)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_client_leaving_a_hung_request_is_logged_as_disconnected(
    mock: Client, provider: str
) -> None:
    await inject(mock, provider, "timeout", timeout_duration_seconds=30)
    path, body = body_for(provider)
    with pytest.raises(TimeoutError):
        await mock.post(path, json=body, timeout=aiohttp.ClientTimeout(total=SHORT_S))
    for _ in range(200):  # the handler notices the close on its next loop turn
        entries = await log_entries(mock, provider=provider)
        if entries:
            break
        await mock.get("/health")
    assert entries[-1]["disconnected"] is True
    assert entries[-1]["status"] is None


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_delay_answers_after_response_delay(mock: Client, provider: str) -> None:
    await inject(mock, provider, "delay", response_delay_seconds=SHORT_S)
    path, body = body_for(provider)
    started = time.monotonic()
    assert (await mock.post(path, json=body)).status == 200
    assert time.monotonic() - started >= SHORT_S


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_reset_drops_the_connection_before_any_byte(mock: Client, provider: str) -> None:
    await inject(mock, provider, "reset")
    path, body = body_for(provider)
    with pytest.raises(aiohttp.ClientConnectionError):
        await mock.post(path, json=body)
    entry = await last_entry(mock, provider)
    assert (entry["fault"], entry["status"]) == ("reset", None)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_malformed_json_is_a_200_with_a_broken_body(mock: Client, provider: str) -> None:
    await inject(mock, provider, "malformed_json")
    path, body = body_for(provider)
    response = await mock.post(path, json=body)
    assert response.status == 200
    assert response.content_type == "application/json"
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(await response.read())


ERRORS = [
    # kind, status, OpenAI (type, code), Anthropic type
    ("429", 429, ("requests", "rate_limit_exceeded"), "rate_limit_error"),
    ("429_retry_after", 429, ("requests", "rate_limit_exceeded"), "rate_limit_error"),
    ("429_retry_after_ms", 429, ("requests", "rate_limit_exceeded"), "rate_limit_error"),
    ("500", 500, ("server_error", None), "api_error"),
    ("502", 502, ("server_error", None), "api_error"),
    ("503", 503, ("server_error", None), "api_error"),
    ("529", 529, ("server_error", None), "overloaded_error"),
]


@pytest.mark.parametrize(("kind", "status", "openai_error", "anthropic_type"), ERRORS)
async def test_error_faults_answer_in_the_openai_shape(
    mock: Client, kind: str, status: int, openai_error: tuple[str, str | None], anthropic_type: str
) -> None:
    await inject(mock, "openai", kind)
    path, body = body_for("openai")
    response = await mock.post(path, json=body, headers={"X-Request-ID": "r1"})
    assert response.status == status
    assert response.headers["x-request-id"] == "r1"
    error = (await response.json())["error"]
    assert (error["type"], error["code"]) == openai_error
    assert (await last_entry(mock, "openai"))["status"] == status


@pytest.mark.parametrize(("kind", "status", "openai_error", "anthropic_type"), ERRORS)
async def test_error_faults_answer_in_the_anthropic_shape(
    mock: Client, kind: str, status: int, openai_error: tuple[str, str | None], anthropic_type: str
) -> None:
    await inject(mock, "anthropic", kind)
    path, body = body_for("anthropic")
    response = await mock.post(path, json=body)
    assert response.status == status
    assert response.headers["request-id"].startswith("req_")
    payload = await response.json()
    assert payload["type"] == "error"
    assert payload["error"]["type"] == anthropic_type


async def test_openai_429_headers_follow_the_fault(mock: Client) -> None:
    path, body = body_for("openai")
    await inject(mock, "openai", "429")
    plain = await mock.post(path, json=body)
    assert "retry-after" not in plain.headers
    assert "retry-after-ms" not in plain.headers
    assert plain.headers["x-ratelimit-remaining-requests"] == "0"
    assert "x-ratelimit-limit-requests" in plain.headers
    assert "x-ratelimit-reset-requests" in plain.headers

    await inject(mock, "openai", "429_retry_after", retry_after_seconds=7)
    assert (await mock.post(path, json=body)).headers["retry-after"] == "7"

    await inject(mock, "openai", "429_retry_after_ms", retry_after_ms=250)
    with_ms = await mock.post(path, json=body)
    assert with_ms.headers["retry-after-ms"] == "250"
    assert "retry-after" not in with_ms.headers


async def test_anthropic_429_headers_follow_the_fault(mock: Client) -> None:
    path, body = body_for("anthropic")
    await inject(mock, "anthropic", "429")
    plain = await mock.post(path, json=body)
    assert "retry-after" not in plain.headers
    assert plain.headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert plain.headers["anthropic-ratelimit-requests-reset"].endswith("Z")

    await inject(mock, "anthropic", "429_retry_after", retry_after_seconds=3)
    assert (await mock.post(path, json=body)).headers["retry-after"] == "3"

    await inject(mock, "anthropic", "429_retry_after_ms", retry_after_ms=400)
    assert (await mock.post(path, json=body)).headers["retry-after-ms"] == "400"


async def test_context_length_in_the_openai_shape(mock: Client) -> None:
    await inject(mock, "openai", "context_length")
    path, body = body_for("openai")
    response = await mock.post(path, json=body)
    assert response.status == 400
    error = (await response.json())["error"]
    assert (error["type"], error["param"], error["code"]) == (
        "invalid_request_error",
        "messages",
        "context_length_exceeded",
    )
    assert error["message"].startswith("This model's maximum context length is 8192 tokens.")


async def test_context_length_in_the_anthropic_shape(mock: Client) -> None:
    await inject(mock, "anthropic", "context_length")
    path, body = body_for("anthropic")
    response = await mock.post(path, json=body)
    assert response.status == 400
    error = (await response.json())["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("prompt is too long: ")
    assert error["message"].endswith(" tokens > 200000 maximum")


async def test_content_policy_in_both_shapes(mock: Client) -> None:
    await set_plan(mock, {"script": ["content_policy"]})
    path, body = body_for("openai")
    openai_error = (await (await mock.post(path, json=body)).json())["error"]
    assert (openai_error["code"], openai_error["param"]) == ("content_policy_violation", None)
    assert openai_error["message"].startswith("Your request was rejected as a result of our safety")
    path, body = body_for("anthropic")
    response = await mock.post(path, json=body)
    assert response.status == 400
    error = (await response.json())["error"]
    assert error == {
        "type": "invalid_request_error",
        "message": "Output blocked by content filtering policy",
    }


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_slow_first_token_delays_the_first_event_not_the_headers(
    mock: Client, provider: str
) -> None:
    await inject(mock, provider, "slow_first_token", first_token_delay_seconds=SHORT_S)
    path, body = body_for(provider, stream=True)
    started = time.monotonic()
    response = await mock.post(path, json=body)
    headers_after = time.monotonic() - started
    first = await response.content.readany()
    first_after = time.monotonic() - started
    assert headers_after < SHORT_S <= first_after
    assert first
    await response.read()


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_slow_first_token_without_a_stream_delays_the_answer(
    mock: Client, provider: str
) -> None:
    await inject(mock, provider, "slow_first_token", first_token_delay_seconds=SHORT_S)
    path, body = body_for(provider)
    started = time.monotonic()
    assert (await mock.post(path, json=body)).status == 200
    assert time.monotonic() - started >= SHORT_S


async def read_into(response: aiohttp.ClientResponse, received: bytearray) -> None:
    async for chunk in response.content.iter_any():
        received += chunk


def token_texts(provider: str, text: str) -> list[str]:
    events = parse_sse(text)
    if provider == "openai":
        chunks = [orjson.loads(d) for _, d in events if d != "[DONE]"]
        return [c["choices"][0]["delta"]["content"] for c in chunks[1:] if c["choices"][0]["delta"]]
    return [orjson.loads(d)["delta"]["text"] for n, d in events if n == "content_block_delta"]


def terminated(provider: str, text: str) -> bool:
    last = parse_sse(text)[-1]
    return last == (None, "[DONE]") if provider == "openai" else last[0] == "message_stop"


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_stream_cut_ends_after_n_tokens_without_a_terminating_event(
    mock: Client, provider: str
) -> None:
    await inject(mock, provider, "stream_cut", stream_cut_after_tokens=4)
    path, body = body_for(provider, stream=True)
    response = await mock.post(path, json=body)
    assert response.status == 200
    received = bytearray()
    with pytest.raises(aiohttp.ClientPayloadError):
        await read_into(response, received)
    text = received.decode()
    assert len(token_texts(provider, text)) == 4
    assert not terminated(provider, text)
    assert (await last_entry(mock, provider))["fault"] == "stream_cut"


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_stream_stall_goes_silent_after_n_tokens_then_finishes(
    mock: Client, provider: str
) -> None:
    await inject(mock, provider, "stream_stall", stall_after_tokens=3, stall_seconds=SHORT_S)
    path, body = body_for(provider, stream=True)
    started = time.monotonic()
    text = await (await mock.post(path, json=body)).text()
    assert time.monotonic() - started >= SHORT_S
    assert "".join(token_texts(provider, text)) == answer_text(PROMPT)
    assert terminated(provider, text)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_stream_malformed_event_breaks_one_event_mid_stream(
    mock: Client, provider: str
) -> None:
    await inject(mock, provider, "stream_malformed_event", malformed_event_after_tokens=2)
    path, body = body_for(provider, stream=True)
    text = await (await mock.post(path, json=body)).text()
    broken = []
    for _, data in parse_sse(text):
        if data == "[DONE]":
            continue
        try:
            orjson.loads(data)
        except orjson.JSONDecodeError:
            broken.append(data)
    assert len(broken) == 1
    assert terminated(provider, text)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_stream_no_done_finishes_without_the_terminator(mock: Client, provider: str) -> None:
    await inject(mock, provider, "stream_no_done")
    path, body = body_for(provider, stream=True)
    text = await (await mock.post(path, json=body)).text()
    assert "".join(token_texts(provider, text)) == answer_text(PROMPT)
    assert not terminated(provider, text)


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(
    "kind", ["stream_cut", "stream_stall", "stream_malformed_event", "stream_no_done"]
)
async def test_stream_faults_on_a_plain_request_answer_normally(
    mock: Client, provider: str, kind: str
) -> None:
    await inject(mock, provider, kind, stall_seconds=30)
    path, body = body_for(provider)
    response = await mock.post(path, json=body)
    assert response.status == 200
    assert answer_text(PROMPT) in (await response.text())
    assert (await last_entry(mock, provider))["fault"] == kind


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_latency_jitter_slows_answers_within_its_bound(mock: Client, provider: str) -> None:
    await set_plan(mock, {"provider": provider, "latency_jitter_seconds": SHORT_S})
    path, body = body_for(provider)
    rng = provider_rng(SEED, provider)  # the plan draws nothing else, so these are its draws
    expected_s = sum(rng.uniform(0.0, SHORT_S) for _ in range(3))
    started = time.monotonic()
    for _ in range(3):
        assert (await mock.post(path, json=body)).status == 200
    assert expected_s <= time.monotonic() - started < expected_s + 1.0
