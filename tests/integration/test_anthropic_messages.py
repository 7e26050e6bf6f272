"""The Anthropic Messages API through the orchestrator, with the official ``anthropic`` SDK.

Against real processes: the SDK points its ``base_url`` at the orchestrator and nothing else
changes. A Claude name routes to the Anthropic deployment first (its own message goes out
whole); ``gpt-4o`` routes to the OpenAI deployment first (its answer is translated), so
every test runs both ways, and failover crosses the wire formats in both directions.
"""

from __future__ import annotations

import base64
from typing import Any

import aiohttp
import anthropic
import pytest

from tests.integration.observability_support import orchestrator
from tests.scenarios.target import Target
from tests.support.services import RunningService

SONNET = "claude-3-5-sonnet-20241022"
FIRST_PROVIDER = {SONNET: "anthropic", "gpt-4o": "openai"}
BOTH_WAYS = pytest.mark.parametrize("model", [SONNET, "gpt-4o"])
WEATHER_TOOL: Any = {
    "name": "get_weather",
    "description": "The weather in a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]}},
        "required": ["city", "unit"],
    },
}
# A 1x1 PNG: small, and a real image.
PIXEL = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
).decode()


def _client(target: Target, **options: Any) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(
        api_key="sk-ant-test", base_url=target.orchestrator_url, max_retries=0, **options
    )


def _text(message: anthropic.types.Message) -> str:
    block = message.content[0]
    assert isinstance(block, anthropic.types.TextBlock)
    return block.text


def _user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


# --- plain and streamed --------------------------------------------------------------------


@BOTH_WAYS
async def test_a_message_comes_back_in_anthropic_s_shape(target: Target, model: str) -> None:
    async with _client(target) as client:
        message = await client.messages.create(
            model=model, max_tokens=64, system="Answer briefly.", messages=_user("Hello")
        )
    assert message.type == "message"
    assert message.role == "assistant"
    [block] = message.content
    assert block.type == "text"
    assert block.text
    assert message.stop_reason in ("end_turn", "max_tokens")
    assert message.usage.input_tokens > 0
    assert message.usage.output_tokens > 0
    extra = message.model_extra or {}
    assert extra["provider"] == FIRST_PROVIDER[model]
    assert extra["attempt_log"][0]["outcome"] == "success"
    served = [e for e in await target.mock_log() if e["status"] == 200]
    assert [e["provider"] for e in served] == [FIRST_PROVIDER[model]]


@BOTH_WAYS
async def test_a_streamed_message_has_every_event_and_the_same_answer(
    target: Target, model: str
) -> None:
    async with _client(target) as client:
        whole = await client.messages.create(model=model, max_tokens=64, messages=_user("Hi"))
        async with client.messages.stream(
            model=model, max_tokens=64, messages=_user("Hi")
        ) as stream:
            kinds = [event.type async for event in stream]
            final = await stream.get_final_message()
    assert kinds[0] == "message_start"
    assert kinds[1] == "content_block_start"
    assert {"content_block_delta", "text"} <= set(kinds)
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert final.content[0].type == whole.content[0].type == "text"
    assert final.content[0].text == whole.content[0].text  # the mock is deterministic
    assert final.stop_reason == whole.stop_reason
    assert final.usage.output_tokens == whole.usage.output_tokens


async def test_the_raw_stream_has_a_ping_and_names_each_event(target: Target) -> None:
    body = {"model": "gpt-4o", "max_tokens": 16, "stream": True, "messages": _user("Hi")}
    async with target.http.post(f"{target.orchestrator_url}/v1/messages", json=body) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        text = (await response.read()).decode()
    names = [line[len("event: ") :] for line in text.splitlines() if line.startswith("event: ")]
    assert names[:2] == ["message_start", "ping"]
    assert names[-1] == "message_stop"


@BOTH_WAYS
async def test_system_prompt_stop_sequences_and_images_are_honoured(
    target: Target, model: str
) -> None:
    image = {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": PIXEL},
    }
    content: Any = [image, {"type": "text", "text": "What is in this picture?"}]
    async with _client(target) as client:
        plain = await client.messages.create(model=model, max_tokens=64, messages=_user("Hi"))
        briefed = await client.messages.create(
            model=model, max_tokens=64, system="You are terse.", messages=_user("Hi")
        )
        pictured = await client.messages.create(
            model=model,
            max_tokens=64,
            stop_sequences=["\n\nHuman:"],
            messages=[{"role": "user", "content": content}],
        )
    # The mock's answer is a function of the whole prompt: a system prompt that reached it
    # changes the answer.
    assert _text(briefed) != _text(plain)
    assert _text(pictured)
    assert (pictured.model_extra or {})["provider"] == FIRST_PROVIDER[model]


# --- tools, across a failover in both directions ----------------------------------------------


async def _turn(
    client: anthropic.AsyncAnthropic, model: str, messages: list[Any], stream: bool
) -> Any:
    if not stream:
        return await client.messages.create(
            model=model, max_tokens=256, tools=[WEATHER_TOOL], messages=messages
        )
    async with client.messages.stream(
        model=model, max_tokens=256, tools=[WEATHER_TOOL], messages=messages
    ) as events:
        kinds = {event.type async for event in events}
        final = await events.get_final_message()
    if final.stop_reason == "tool_use":
        assert "input_json" in kinds  # the arguments came as input_json_delta fragments
    return final


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
@BOTH_WAYS
async def test_a_tool_loop_survives_a_failover_between_wire_formats(
    target: Target, model: str, stream: bool
) -> None:
    first = FIRST_PROVIDER[model]
    messages: list[Any] = _user("What is the weather in Paris? Call get_weather.")
    async with _client(target) as client:
        reply = await _turn(client, model, messages, stream)
        assert reply.stop_reason == "tool_use"
        [call] = [block for block in reply.content if block.type == "tool_use"]
        assert call.name == "get_weather"
        assert set(call.input) == {"city", "unit"}
        messages.append({"role": "assistant", "content": [b.model_dump() for b in reply.content]})
        result = {"type": "tool_result", "tool_use_id": call.id, "content": "21 degrees."}
        messages.append({"role": "user", "content": [result]})
        await target.set_faults({"provider": first, "fail_next": {"count": 100, "fault": "503"}})
        answer = await _turn(client, model, messages, stream)
    assert answer.stop_reason == "end_turn"
    assert answer.content[0].type == "text"
    assert answer.content[0].text
    other = "anthropic" if first == "openai" else "openai"
    served = [e["provider"] for e in await target.mock_log() if e["status"] == 200]
    assert served == [first, other]


# --- reliability: retries, in-band errors, the error classes ----------------------------------


@BOTH_WAYS
async def test_a_server_error_is_retried_and_the_log_says_so(target: Target, model: str) -> None:
    await target.set_faults({"provider": FIRST_PROVIDER[model], "script": ["500", "ok"]})
    async with _client(target) as client:
        message = await client.messages.create(model=model, max_tokens=16, messages=_user("Hi"))
    log = (message.model_extra or {})["attempt_log"]
    assert [entry["status"] for entry in log] == [500, 200]


async def test_a_stream_cut_after_its_first_tokens_ends_with_an_error_event(
    target: Target,
) -> None:
    await target.set_faults(
        {"provider": "openai", "script": ["stream_cut"], "stream_cut_after_tokens": 3}
    )

    async def read_it_all(client: anthropic.AsyncAnthropic) -> None:
        async with client.messages.stream(
            model="gpt-4o", max_tokens=64, messages=_user("Hi")
        ) as stream:
            async for _ in stream:
                pass

    async with _client(target) as client:
        with pytest.raises(anthropic.APIStatusError) as caught:
            await read_it_all(client)
    assert "incomplete" in str(caught.value.body)


async def test_every_deployment_failing_is_a_500_api_error_not_to_retry(target: Target) -> None:
    await target.set_faults({"provider": "both", "faults": {"500": 1.0}})
    async with _client(target) as client:
        with pytest.raises(anthropic.InternalServerError) as caught:
            await client.messages.create(model="gpt-4o", max_tokens=16, messages=_user("Hi"))
    error = caught.value
    assert error.status_code == 500
    assert error.body["error"]["type"] == "api_error"  # type: ignore[index]
    assert error.response.headers["x-should-retry"] == "false"
    assert error.response.headers["X-Request-ID"] == error.body["request_id"]  # type: ignore[index]


async def test_open_breakers_are_a_529_overloaded_error_with_retry_after(target: Target) -> None:
    await target.set_faults({"provider": "both", "faults": {"503": 1.0}})
    async with _client(target) as client:
        for _ in range(target.failure_threshold):
            with pytest.raises(anthropic.APIStatusError):
                await client.messages.create(model="gpt-4o", max_tokens=16, messages=_user("Hi"))
        with pytest.raises(anthropic.APIStatusError) as caught:
            await client.messages.create(model="gpt-4o", max_tokens=16, messages=_user("Hi"))
    assert caught.value.status_code == 529
    assert caught.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]
    assert int(caught.value.response.headers["Retry-After"]) >= 1


async def test_a_provider_rate_limit_everywhere_is_a_429_rate_limit_error(target: Target) -> None:
    await target.set_faults({"provider": "both", "faults": {"429_retry_after": 1.0},
                             "retry_after_seconds": 30})  # fmt: skip
    async with _client(target) as client:
        with pytest.raises(anthropic.RateLimitError) as caught:
            await client.messages.create(model="gpt-4o", max_tokens=16, messages=_user("Hi"))
    assert caught.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"model": "gpt-4o", "messages": _user("Hi")}, "max_tokens"),
        ({"model": "gpt-4o", "max_tokens": 8, "messages": [{"role": "bot", "content": "x"}]},
         "messages.0.role"),
        ({"model": "gpt-4o", "max_tokens": 8, "messages": _user("Hi"), "temperature": 3},
         "temperature"),
        ({"model": "gpt-4o", "max_tokens": 8, "messages": [
            {"role": "user", "content": [{"type": "image", "source": {"type": "file"}}]}]},
         "messages.0.content.0.source.type"),
    ],
)  # fmt: skip
async def test_a_bad_field_is_a_400_naming_it(target: Target, body: Any, field: str) -> None:
    async with target.http.post(f"{target.orchestrator_url}/v1/messages", json=body) as response:
        assert response.status == 400
        answer = await response.json()
    assert answer["type"] == "error"
    assert answer["error"]["type"] == "invalid_request_error"
    assert answer["error"]["message"].startswith(field)
    assert answer["request_id"] == response.headers["X-Request-ID"]
    assert await target.mock_log() == []  # refused before any upstream call


async def test_an_unknown_model_is_a_404_not_found_error(target: Target) -> None:
    async with _client(target) as client:
        with pytest.raises(anthropic.NotFoundError) as caught:
            await client.messages.create(model="claude-nope", max_tokens=8, messages=_user("Hi"))
    assert caught.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]


async def test_a_body_over_the_limit_is_a_413_request_too_large(target: Target) -> None:
    huge = "x" * (2 * 1024 * 1024)
    async with _client(target) as client:
        with pytest.raises(anthropic.APIStatusError) as caught:
            await client.messages.create(model="gpt-4o", max_tokens=8, messages=_user(huge))
    assert caught.value.status_code == 413
    assert caught.value.body["error"]["type"] == "request_too_large"  # type: ignore[index]


async def test_unknown_paths_under_messages_answer_in_anthropic_s_shape(target: Target) -> None:
    url = f"{target.orchestrator_url}/v1/messages/batches"
    async with target.http.post(url, json={}) as response:
        assert response.status == 404
        assert (await response.json())["error"]["type"] == "not_found_error"
    async with target.http.get(f"{target.orchestrator_url}/v1/messages") as response:
        assert response.status == 405
        assert (await response.json())["type"] == "error"


# --- count_tokens and models ------------------------------------------------------------------


async def test_count_tokens_estimates_and_grows_with_the_prompt(target: Target) -> None:
    async with _client(target) as client:
        short = await client.messages.count_tokens(model=SONNET, messages=_user("Hi"))
        long = await client.messages.count_tokens(
            model=SONNET, messages=_user("Hi " * 400), tools=[WEATHER_TOOL]
        )
        with pytest.raises(anthropic.NotFoundError):
            await client.messages.count_tokens(model="claude-nope", messages=_user("Hi"))
    assert 0 < short.input_tokens < long.input_tokens
    assert (long.model_extra or {})["estimated"] is True
    assert await target.mock_log() == []  # an estimate: no provider asked


async def test_both_sdks_list_every_public_model(target: Target) -> None:
    async with _client(target) as client:
        names = [model.id async for model in client.models.list()]
        one = await client.models.retrieve(SONNET)
    assert {SONNET, "gpt-4o", "text-embedding-3-small"} <= set(names)
    assert one.id == SONNET
    assert one.type == "model"


# --- caller keys ----------------------------------------------------------------------------


async def test_caller_keys_come_as_x_api_key_or_authorization(
    mock_service: RunningService,
) -> None:
    key = "sk-caller-anthropic-0123456789"
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{mock_service.base_url}/config/reset") as reset,
    ):
        assert reset.status == 200
    with orchestrator(mock_service, ORCH_CALLER_KEYS=f"claude-team:{key}") as service:
        url = service.base_url
        async with anthropic.AsyncAnthropic(api_key="sk-wrong", base_url=url) as wrong:
            with pytest.raises(anthropic.AuthenticationError) as caught:
                await wrong.messages.create(model=SONNET, max_tokens=8, messages=_user("Hi"))
        assert caught.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]
        async with anthropic.AsyncAnthropic(api_key=key, base_url=url) as by_api_key:
            first = await by_api_key.messages.create(
                model=SONNET, max_tokens=8, messages=_user("Hi")
            )
        async with anthropic.AsyncAnthropic(auth_token=key, base_url=url) as by_bearer:
            second = await by_bearer.messages.create(
                model=SONNET, max_tokens=8, messages=_user("Hi")
            )
        assert _text(first) == _text(second)
        service.wait_for_log('"caller":"claude-team"')
