"""A real agent loop with the official openai SDK, surviving a failover between wire formats.

Tools declared -> the model calls one -> the tool runs -> its result goes back -> a final
answer. Between the turns the first deployment starts failing, so the next turn is served
by the other wire format: it gets the translated history (tool calls and results paired by
the same ids, which the mock's Anthropic side checks as Anthropic does) and still answers.
Both directions, plain and streamed.
"""

from __future__ import annotations

from typing import Any

import openai
import orjson
import pytest

from tests.scenarios.target import Target

WEATHER_TOOL: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "unit"],
        },
    },
}
FIRST_PROVIDER = {"gpt-4o": "openai", "claude-3-5-sonnet-20241022": "anthropic"}


def get_weather(city: str, unit: str) -> str:
    return f"It is 21 degrees {unit} in {city}."


def _client(target: Target) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        api_key="sk-test", base_url=f"{target.orchestrator_url}/v1", max_retries=0
    )


async def _turn(client: openai.AsyncOpenAI, model: str, messages: list[Any], stream: bool) -> Any:
    """One model turn: the assistant message, rebuilt by the SDK itself when streamed."""
    if not stream:
        completion = await client.chat.completions.create(
            model=model, messages=messages, tools=[WEATHER_TOOL]
        )
        return completion.choices[0]
    async with client.chat.completions.stream(
        model=model, messages=messages, tools=[WEATHER_TOOL]
    ) as events:
        final = await events.get_final_completion()
    return final.choices[0]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
@pytest.mark.parametrize("model", ["gpt-4o", "claude-3-5-sonnet-20241022"])
async def test_an_agent_loop_survives_a_failover_between_wire_formats(
    target: Target, model: str, stream: bool
) -> None:
    first = FIRST_PROVIDER[model]
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "What is the weather in Paris? Call get_weather."}
    ]
    async with _client(target) as client:
        choice = await _turn(client, model, messages, stream)
        assert choice.finish_reason == "tool_calls"
        [call] = choice.message.tool_calls
        arguments = orjson.loads(call.function.arguments)
        assert call.function.name == "get_weather"
        assert set(arguments) == {"city", "unit"}  # valid for the schema: required fields
        messages.append(choice.message.model_dump(exclude_none=True))
        messages.append(
            {"role": "tool", "tool_call_id": call.id, "content": get_weather(**arguments)}
        )
        # The first deployment breaks: the next turn has to be served by the other format.
        await target.set_faults({"provider": first, "fail_next": {"count": 100, "fault": "503"}})
        answer = await _turn(client, model, messages, stream)
    assert answer.finish_reason == "stop"
    assert answer.message.content
    assert not answer.message.tool_calls
    # Who answered each turn, in the mock's own log: the first format, then the other.
    other = "anthropic" if first == "openai" else "openai"
    served = [e["provider"] for e in await target.mock_log() if e["status"] == 200]
    assert served == [first, other]
