"""The agent and structured-output fields: each bad value a 400 naming its field, good ones
kept as sent."""

from __future__ import annotations

from typing import Any

import pytest

from shared.chat_parsing import parse_chat_request
from shared.models import FieldError

WEATHER: dict[str, Any] = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}},
}
CALL = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}


def chat(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    body.update(fields)
    return body


def param_of(body: dict[str, Any]) -> str | None:
    with pytest.raises(FieldError) as caught:
        parse_chat_request(body)
    return caught.value.param


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (chat(tools={}), "tools"),
        (chat(tools=[1]), "tools[0]"),
        (chat(tools=[{"function": {"name": "f"}}]), "tools[0].type"),
        (chat(tools=[{"type": "retrieval"}]), "tools[0].type"),
        (chat(tools=[{"type": "function"}]), "tools[0].function"),
        (chat(tools=[{"type": "function", "function": {}}]), "tools[0].function.name"),
        (chat(tools=[{"type": "function", "function": {"name": "a b"}}]), "tools[0].function.name"),
        (
            chat(tools=[{"type": "function", "function": {"name": "x" * 65}}]),
            "tools[0].function.name",
        ),
        (
            chat(tools=[{"type": "function", "function": {"name": "f", "parameters": []}}]),
            "tools[0].function.parameters",
        ),
        (chat(tools=[WEATHER, WEATHER]), "tools[1]"),
        (chat(tool_choice="auto"), "tool_choice"),  # no tools declared
        (chat(tools=[WEATHER], tool_choice="always"), "tool_choice"),
        (chat(tools=[WEATHER], tool_choice=1), "tool_choice"),
        (
            chat(tools=[WEATHER], tool_choice={"type": "function", "function": {"name": "other"}}),
            "tool_choice.function.name",
        ),
        (chat(tools=[WEATHER], parallel_tool_calls="no"), "parallel_tool_calls"),
        (chat(n=0), "n"),
        (chat(n=129), "n"),
        (chat(n=1.5), "n"),
        (chat(n=True), "n"),
        (chat(logprobs="yes"), "logprobs"),
        (chat(top_logprobs=3), "top_logprobs"),  # needs logprobs
        (chat(logprobs=True, top_logprobs=21), "top_logprobs"),
        (chat(response_format="json"), "response_format"),
        (chat(response_format={}), "response_format.type"),
        (chat(response_format={"type": "yaml"}), "response_format.type"),
        (chat(response_format={"type": "json_schema"}), "response_format.json_schema"),
        (
            chat(response_format={"type": "json_schema", "json_schema": {"schema": {}}}),
            "response_format.json_schema.name",
        ),
        (
            chat(
                response_format={"type": "json_schema", "json_schema": {"name": "p", "schema": 1}}
            ),
            "response_format.json_schema.schema",
        ),
        (
            chat(messages=[{"role": "user", "content": [{"type": "image_url"}]}]),
            "messages[0].content[0].image_url",
        ),
        (
            chat(messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]),
            "messages[0].content[0].image_url.url",
        ),
        (
            chat(
                messages=[
                    {"role": "user", "content": [{"type": "image_url", "image_url": {"url": 1}}]}
                ]
            ),
            "messages[0].content[0].image_url.url",
        ),
        (
            chat(messages=[{"role": "assistant", "content": None, "tool_calls": {}}]),
            "messages[0].tool_calls",
        ),
        (
            chat(messages=[{"role": "assistant", "content": None, "tool_calls": [{"id": "c"}]}]),
            "messages[0].tool_calls[0].function",
        ),
        (
            chat(
                messages=[
                    {
                        "role": "assistant",
                        "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f"}}],
                    }
                ]
            ),
            "messages[0].tool_calls[0].function.arguments",
        ),
        (chat(messages=[{"role": "tool", "content": "22C"}]), "messages[0].tool_call_id"),
        (
            chat(messages=[{"role": "tool", "content": "22C", "tool_call_id": "call_1"}]),
            "messages[0].tool_call_id",  # answers no call
        ),
        (
            chat(
                messages=[
                    {"role": "assistant", "content": None, "tool_calls": [CALL]},
                    {"role": "tool", "content": "22C", "tool_call_id": "call_2"},
                ]
            ),
            "messages[1].tool_call_id",
        ),
    ],
)
def test_a_bad_agent_field_is_named(body: dict[str, Any], param: str) -> None:
    assert param_of(body) == param


def test_agent_fields_are_kept_as_sent() -> None:
    schema = {"type": "json_schema", "json_schema": {"name": "p", "schema": {"type": "object"}}}
    choice = {"type": "function", "function": {"name": "get_weather"}}
    request = parse_chat_request(
        chat(
            tools=[WEATHER],
            tool_choice=choice,
            parallel_tool_calls=False,
            n=3,
            response_format=schema,
            logprobs=True,
            top_logprobs=2,
            messages=[
                {"role": "user", "content": "weather?"},
                {"role": "assistant", "content": None, "tool_calls": [CALL]},
                {"role": "tool", "content": "22C", "tool_call_id": "call_1"},
            ],
        )
    )
    assert request.tools == (WEATHER,)
    assert request.tool_choice == choice
    assert request.parallel_tool_calls is False
    assert (request.n, request.logprobs) == (3, True)
    assert request.response_format == schema
    assert request.extra == {"top_logprobs": 2}  # not ours to read: passed on as sent
    assert request.messages[1].extra == {"tool_calls": [CALL]}


def test_a_plain_request_has_the_defaults() -> None:
    request = parse_chat_request(chat())
    assert (request.n, request.tools, request.tool_choice, request.logprobs) == (1, (), None, False)
    assert request.response_format is None
