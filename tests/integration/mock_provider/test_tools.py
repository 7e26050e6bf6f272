"""The mock speaks tools, n and JSON in both formats, by its documented deterministic rule,
and checks tool blocks as Anthropic does."""

from __future__ import annotations

from typing import Any

import jsonschema  # type: ignore[import-untyped]
import orjson
import pytest
from aiohttp.test_utils import TestClient

from tests.integration.mock_provider.helpers import (
    ANTHROPIC_PATH,
    OPENAI_PATH,
    anthropic_body,
    openai_body,
    parse_sse,
)

Client = TestClient[Any, Any]
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1},
        "hourly": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["city", "unit"],
}
OPENAI_TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "parameters": SCHEMA}},
    {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}},
]
ANTHROPIC_TOOLS = [
    {"name": "get_weather", "input_schema": SCHEMA},
    {"name": "get_time", "input_schema": {"type": "object"}},
]


async def _json(mock: Client, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    response = await mock.post(path, json=body)
    return response.status, await response.json()


async def test_openai_calls_the_tools_the_user_names_with_valid_arguments(mock: Client) -> None:
    body = openai_body("Use get_weather and get_time, please.", tools=OPENAI_TOOLS)
    status, answer = await _json(mock, OPENAI_PATH, body)
    assert status == 200
    choice = answer["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    calls = choice["message"]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["get_weather", "get_time"]
    jsonschema.validate(orjson.loads(calls[0]["function"]["arguments"]), SCHEMA)
    again = await _json(mock, OPENAI_PATH, body)
    assert again[1]["choices"][0]["message"]["tool_calls"] == calls  # deterministic


@pytest.mark.parametrize(
    ("fields", "called"),
    [
        ({}, []),  # auto, and no tool named
        ({"tool_choice": "required"}, ["get_weather"]),
        ({"tool_choice": {"type": "function", "function": {"name": "get_time"}}}, ["get_time"]),
        ({"tool_choice": "none", "content": "get_weather now"}, []),
        ({"parallel_tool_calls": False, "content": "get_weather and get_time"}, ["get_weather"]),
    ],
)
async def test_openai_tool_choice_decides(
    mock: Client, fields: dict[str, Any], called: list[str]
) -> None:
    content = fields.pop("content", "Hello there")
    status, answer = await _json(
        mock, OPENAI_PATH, openai_body(content, tools=OPENAI_TOOLS, **fields)
    )
    assert status == 200
    calls = answer["choices"][0]["message"].get("tool_calls") or []
    assert [c["function"]["name"] for c in calls] == called


async def test_a_tool_result_gets_a_text_answer(mock: Client) -> None:
    call = {"id": "call_1", "type": "function",
            "function": {"name": "get_weather", "arguments": "{}"}}  # fmt: skip
    messages = [
        {"role": "user", "content": "Use get_weather"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "21C"},
    ]
    body = {"model": "gpt-4o-mini", "messages": messages, "tools": OPENAI_TOOLS}
    _, answer = await _json(mock, OPENAI_PATH, body)
    assert answer["choices"][0]["finish_reason"] == "stop"
    assert answer["choices"][0]["message"]["content"]


async def test_openai_honours_n_json_mode_and_a_schema(mock: Client) -> None:
    _, three = await _json(mock, OPENAI_PATH, openai_body(n=3))
    assert len({c["message"]["content"] for c in three["choices"]}) == 3
    _, json_mode = await _json(
        mock, OPENAI_PATH, openai_body(response_format={"type": "json_object"})
    )
    assert set(orjson.loads(json_mode["choices"][0]["message"]["content"])) == {"answer"}
    schema_format = {"type": "json_schema", "json_schema": {"name": "w", "schema": SCHEMA}}
    _, schema = await _json(mock, OPENAI_PATH, openai_body(response_format=schema_format))
    jsonschema.validate(orjson.loads(schema["choices"][0]["message"]["content"]), SCHEMA)


async def test_anthropic_streams_a_tool_use_in_input_json_fragments(mock: Client) -> None:
    body = anthropic_body("get_weather please", tools=ANTHROPIC_TOOLS, stream=True)
    response = await mock.post(ANTHROPIC_PATH, json=body)
    events = [(name, orjson.loads(data)) for name, data in parse_sse(await response.text())]
    starts = [d for n, d in events if n == "content_block_start"]
    assert starts[0]["content_block"]["type"] == "tool_use"
    assert starts[0]["content_block"]["name"] == "get_weather"
    fragments = [
        d["delta"]["partial_json"]
        for n, d in events
        if n == "content_block_delta" and d["delta"]["type"] == "input_json_delta"
    ]
    assert len(fragments) > 1
    jsonschema.validate(orjson.loads("".join(fragments)), SCHEMA)
    [stop] = [d for n, d in events if n == "message_delta"]
    assert stop["delta"]["stop_reason"] == "tool_use"


async def test_anthropic_rejects_a_tool_result_that_answers_no_tool_use(mock: Client) -> None:
    messages = [
        {"role": "user", "content": "get_weather"},
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": "21C"}]},
    ]  # fmt: skip
    body = {**anthropic_body(), "messages": messages, "tools": ANTHROPIC_TOOLS}
    status, error = await _json(mock, ANTHROPIC_PATH, body)
    assert status == 400
    assert "tool_use_id" in error["error"]["message"]
    matched = [*messages[:2], {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "21C"}]}]  # fmt: skip
    status, answer = await _json(mock, ANTHROPIC_PATH, {**body, "messages": matched})
    assert status == 200
    assert answer["stop_reason"] == "end_turn"  # the result is in: a text answer
