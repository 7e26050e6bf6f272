"""Streams keep everything: tool-call deltas (the first content, for the commit point and
the first-token limit), every choice, and a whole body's tool calls when a provider ignores
``stream``. In-process, against a scripted provider (tests/unit/test_stream_app.py)."""

from __future__ import annotations

from typing import Any

import orjson

from tests.unit.test_stream_app import (
    HANG,
    OA_DONE,
    OPENAI_PATH,
    Reply,
    StackFactory,
    sse,
)

CALL_OPENING = {
    "index": 0,
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": ""},
}


def chunk(*choices: dict[str, Any], usage: dict[str, int] | None = None) -> bytes:
    body: dict[str, Any] = {"id": "chatcmpl-up", "object": "chat.completion.chunk"}
    body["choices"] = list(choices)
    if usage is not None:
        body["usage"] = usage
    return sse(body)


def choice(index: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"index": index, "delta": delta, "finish_reason": finish}


def deltas(events: list[Any]) -> list[tuple[int, dict[str, Any], str | None]]:
    return [
        (c["index"], c["delta"], c["finish_reason"])
        for e in events
        if isinstance(e, dict)
        for c in e.get("choices", ())
    ]


async def test_a_tool_call_delta_is_the_first_content(make_stack: StackFactory) -> None:
    """It commits the stream within the first-token limit: no failover, and a stall after
    it is an in-band error, not a stream that looks finished."""
    stack = await make_stack(
        {OPENAI_PATH: [Reply([chunk(choice(0, {"tool_calls": [CALL_OPENING]})), HANG])]},
        ORCH__STREAM__FIRST_TOKEN_TIMEOUT_S="0.3",
        ORCH__STREAM__IDLE_TIMEOUT_S="0.3",
    )
    status, events, _ = await stack.stream(tools=[_tool()])
    assert status == 200
    assert deltas(events)[0] == (0, {"role": "assistant", "tool_calls": [CALL_OPENING]}, None)
    assert events[-1]["error"]["code"] == "stream_stalled"
    assert b"[DONE]" not in events
    assert stack.provider.calls == {OPENAI_PATH: 1}


async def test_every_choice_streams_and_only_the_last_finish_waits_for_the_end(
    make_stack: StackFactory,
) -> None:
    usage = {"prompt_tokens": 2, "completion_tokens": 4, "total_tokens": 6}
    stack = await make_stack(
        {
            OPENAI_PATH: [
                Reply(
                    [
                        chunk(choice(0, {"role": "assistant", "content": "A"})),
                        chunk(choice(1, {"role": "assistant", "content": "B"})),
                        chunk(choice(0, {}, "stop")),
                        chunk(choice(1, {"content": "b"})),
                        chunk(choice(1, {}, "length")),
                        chunk(usage=usage),
                        OA_DONE,
                    ]
                )
            ]
        }
    )
    status, events, _ = await stack.stream(n=2, stream_options={"include_usage": True})
    assert status == 200
    assert deltas(events) == [
        (0, {"role": "assistant", "content": "A"}, None),
        (1, {"role": "assistant", "content": "B"}, None),
        (0, {}, "stop"),
        (1, {"content": "b"}, None),
        (1, {}, "length"),
    ]
    finish = events[-3]
    assert finish["provider"] == "openai"  # our fields ride on the last finish
    assert events[-2]["usage"] == usage
    assert events[-1] == b"[DONE]"


async def test_a_whole_body_to_a_stream_request_keeps_its_tool_calls(
    make_stack: StackFactory,
) -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    body = {
        "id": "chatcmpl-whole",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": None, "tool_calls": [call]},
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1},
    }
    reply = Reply([orjson.dumps(body)], content_type="application/json")
    stack = await make_stack({OPENAI_PATH: [reply]})
    status, events, _ = await stack.stream(tools=[_tool()])
    assert status == 200
    assert deltas(events) == [
        (0, {"role": "assistant", "tool_calls": [{"index": 0, **call}]}, None),
        (0, {}, "tool_calls"),
    ]


def _tool() -> dict[str, Any]:
    return {"type": "function", "function": {"name": "get_weather", "parameters": {}}}
