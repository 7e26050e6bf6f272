"""An Anthropic Messages request read into our OpenAI-shaped request, and what an
Anthropic deployment gets back from it (the groundwork of the inbound Messages API)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from orchestrator.providers.anthropic import ANTHROPIC_ADAPTER
from orchestrator.providers.openai import OPENAI_ADAPTER
from shared.anthropic_parsing import ANTHROPIC_FIELDS, parse_messages_request
from shared.models import FieldError
from tests.unit.adapter_support import deployment

CITY = {"type": "object", "properties": {"city": {"type": "string"}}}
WEATHER = {"name": "get_weather", "description": "The weather.", "input_schema": CITY}
RESULT = [{"type": "text", "text": "21C"}]
CONVERSATION: list[dict[str, Any]] = [
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "content": [
        {"type": "thinking", "thinking": "hm", "signature": "s"},
        {"type": "text", "text": "Checking."},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}]},
    {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": RESULT},
        {"type": "text", "text": "And tomorrow?"}]},
]  # fmt: skip


def body(**fields: Any) -> dict[str, Any]:
    request: dict[str, Any] = {"model": "m", "max_tokens": 100, "messages": CONVERSATION}
    request.update(fields)
    return request


def test_the_conversation_becomes_openai_messages() -> None:
    request = parse_messages_request(body(system="Be brief.", stop_sequences=["END"]))
    roles = [m.role for m in request.messages]
    assert roles == ["system", "user", "assistant", "tool", "user"]
    assistant = request.messages[2]
    assert assistant.content == [{"type": "text", "text": "Checking."}]  # thinking dropped
    [call] = assistant.extra["tool_calls"]
    assert call["id"] == "toolu_1"
    assert orjson.loads(call["function"]["arguments"]) == {"city": "Paris"}
    tool = request.messages[3]
    assert (tool.extra["tool_call_id"], tool.content) == ("toolu_1", "21C")
    assert request.stop == ("END",)
    assert request.max_tokens == 100


def test_tools_and_tool_choice_map_to_openai_s() -> None:
    choice = {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True}
    request = parse_messages_request(body(tools=[WEATHER], tool_choice=choice))
    [tool] = request.tools
    assert tool["function"]["parameters"] == WEATHER["input_schema"]
    assert request.tool_choice == {"type": "function", "function": {"name": "get_weather"}}
    assert request.parallel_tool_calls is False


def test_a_round_trip_to_an_anthropic_deployment_keeps_the_conversation() -> None:
    request = parse_messages_request(
        body(tools=[WEATHER], thinking={"type": "enabled", "budget_tokens": 1024}, top_k=5)
    )
    sent = ANTHROPIC_ADAPTER.build_request(request, deployment("anthropic"), "r", 1)
    upstream = orjson.loads(sent.body)
    assert upstream["messages"][1]["content"][1] == CONVERSATION[1]["content"][2]
    assert upstream["messages"][2]["content"][0]["tool_use_id"] == "toolu_1"
    assert upstream["thinking"] == {"type": "enabled", "budget_tokens": 1024}  # passed on
    assert upstream["top_k"] == 5
    to_openai = orjson.loads(
        OPENAI_ADAPTER.build_request(request, deployment("openai"), "r", 1).body
    )
    assert ANTHROPIC_FIELDS not in to_openai
    assert "thinking" not in to_openai  # Anthropic's own fields never reach OpenAI


def test_images_become_image_url_parts() -> None:
    image = {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "AAA"},
    }
    request = parse_messages_request(body(messages=[{"role": "user", "content": [image]}]))
    assert request.messages[0].content == [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA"}}
    ]


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"max_tokens": None}, "max_tokens"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"temperature": 1.5}, "temperature"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "system", "content": "x"}]}, "messages.0.role"),
        ({"messages": [{"role": "user"}]}, "messages.0.content"),
        ({"messages": [{"role": "user", "content": [{"type": "tool_use"}]}]},
         "messages.0.content.0.type"),
        ({"messages": [{"role": "user", "content": [{"type": "image", "source": {}}]}]},
         "messages.0.content.0.source.type"),
        ({"system": 3}, "system"),
        ({"stop_sequences": "END"}, "stop_sequences"),
        ({"tool_choice": {"type": "sometimes"}}, "tool_choice.type"),
        ({"tools": [{"name": "a b", "input_schema": {}}]}, "tools.0.name"),
    ],
)  # fmt: skip
def test_a_bad_field_is_named_as_anthropic_names_it(fields: dict[str, Any], param: str) -> None:
    with pytest.raises(FieldError) as caught:
        parse_messages_request(body(**fields))
    assert caught.value.param == param
    assert caught.value.message.startswith(param)
