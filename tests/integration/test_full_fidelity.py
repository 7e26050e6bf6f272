"""Full-fidelity chat through real processes and the official openai SDK: every choice and
usage detail, capabilities deciding the plan (skips in the attempt log, a 400 naming the
field), structured output through either format, and a stream cut inside a tool call's
arguments never reaching the caller as a finished call."""

from __future__ import annotations

from typing import Any

import openai
import orjson
import pytest
from pydantic import BaseModel

from tests.integration.observability_support import orchestrator
from tests.scenarios.target import Target
from tests.support.services import RunningService

WEATHER: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
ASK_WEATHER: Any = [{"role": "user", "content": "Weather in Paris? Use get_weather."}]


class Person(BaseModel):
    name: str
    age: int


def _client(url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key="sk-test", base_url=f"{url}/v1", max_retries=0)


async def test_every_choice_and_the_usage_details_come_back(target: Target) -> None:
    async with _client(target.orchestrator_url) as client:
        completion = await client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}], n=3
        )
    assert [c.index for c in completion.choices] == [0, 1, 2]
    texts = [c.message.content for c in completion.choices]
    assert len(set(texts)) == 3  # each its own answer
    assert completion.system_fingerprint == "fp_mock"
    assert completion.service_tier == "default"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens_details is not None
    assert completion.usage.prompt_tokens_details.cached_tokens == 0
    extra = completion.model_extra or {}
    assert extra["content"] == texts[0]  # ours, beside the provider's fields
    assert extra["provider"] == "openai"


async def test_a_deployment_that_cannot_honour_n_is_skipped_and_named(target: Target) -> None:
    async with _client(target.orchestrator_url) as client:
        completion = await client.chat.completions.create(
            model="claude-3-5-sonnet-20241022", messages=[{"role": "user", "content": "hi"}], n=2
        )
    assert len(completion.choices) == 2
    log = (completion.model_extra or {})["attempt_log"]
    assert log[0]["outcome"] == "skipped_unsupported"
    assert log[0]["provider"] == "anthropic"
    assert "'n'" in log[0]["error"]
    assert log[1]["provider"] == "openai"
    assert [e["provider"] for e in await target.mock_log()] == ["openai"]


async def test_when_no_deployment_can_the_400_names_the_field(mock_service: RunningService) -> None:
    with orchestrator(mock_service, ORCH__PROVIDERS__OPENAI__CAPABILITIES__N="false") as service:
        async with _client(service.base_url) as client:
            with pytest.raises(openai.BadRequestError) as caught:
                await client.chat.completions.create(
                    model="gpt-4o", messages=[{"role": "user", "content": "hi"}], n=2
                )
    body = caught.value.body
    assert isinstance(body, dict)
    assert (body["param"], body["code"]) == ("n", "unsupported_parameter")


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_structured_output_parses_through_either_format(
    target: Target, provider: str
) -> None:
    async with _client(target.orchestrator_url) as client:
        completion = await client.chat.completions.parse(
            model="gpt-4o",
            messages=[{"role": "user", "content": "Who wrote it?"}],
            response_format=Person,
            extra_body={"preferred_provider": provider},
        )
    person = completion.choices[0].message.parsed
    assert isinstance(person, Person)
    assert completion.choices[0].finish_reason == "stop"
    assert [e["provider"] for e in await target.mock_log()] == [provider]


async def test_a_cut_inside_tool_arguments_is_an_error_never_a_finished_call(
    target: Target,
) -> None:
    await target.set_faults({"provider": "openai", "script": ["stream_cut_tool_arguments"]})
    chunks: list[Any] = []

    async def read_all(stream: Any) -> None:
        async for chunk in stream:
            chunks.append(chunk)

    async with _client(target.orchestrator_url) as client:
        stream = await client.chat.completions.create(
            model="gpt-4o", messages=ASK_WEATHER, tools=[WEATHER], stream=True
        )
        with pytest.raises(openai.APIError, match="incomplete"):
            await read_all(stream)
    calls = [call for c in chunks for call in c.choices[0].delta.tool_calls or ()]
    assert calls[0].function.name == "get_weather"  # the call had begun: cut inside it
    assert all(c.choices[0].finish_reason is None for c in chunks)  # and it never finished


async def test_buffered_a_cut_inside_tool_arguments_fails_over_to_a_whole_call(
    target: Target,
) -> None:
    await target.set_faults({"provider": "openai", "script": ["stream_cut_tool_arguments"]})
    async with (
        _client(target.orchestrator_url) as client,
        client.chat.completions.stream(
            model="gpt-4o",
            messages=ASK_WEATHER,
            tools=[WEATHER],
            extra_body={"stream_mode": "buffered"},
        ) as events,
    ):
        final = await events.get_final_completion()
    [call] = final.choices[0].message.tool_calls or []
    assert call.function.name == "get_weather"
    assert orjson.loads(call.function.arguments).keys() == {"city"}  # whole, valid JSON
    served = [(e["provider"], e["fault"]) for e in await target.mock_log()]
    assert served[0] == ("openai", "stream_cut_tool_arguments")
    assert len(served) == 2
