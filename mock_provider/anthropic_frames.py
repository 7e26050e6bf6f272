"""Anthropic's answers for the mock: the content blocks of a message and the event sequence
that streams it (a text block word by word, or each tool_use block with its input in
``input_json_delta`` fragments)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from mock_provider.anthropic_tools import tool_blocks, tool_events
from mock_provider.dialect import Reply, StreamFrames
from shared.models import estimate_tokens


def event(name: str, payload: Mapping[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


def content_of(reply: Reply) -> list[dict[str, Any]]:
    if reply.tool_calls:
        return tool_blocks(reply.tool_calls)
    return [{"type": "text", "text": reply.answer.text}]


def anthropic_stream_frames(reply: Reply) -> StreamFrames:
    call, answer = reply.call, reply.answer
    message: dict[str, Any] = {
        "id": reply.message_id,
        "type": "message",
        "role": "assistant",
        "model": call.model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": call.prompt_tokens, "output_tokens": 1},
    }
    head: tuple[bytes, ...] = (
        event("message_start", {"type": "message_start", "message": message}),
    )
    arguments_at: int | None = None
    if reply.tool_calls:
        head += (event("ping", {"type": "ping"}),)
        tokens, arguments_at = tool_events(reply.tool_calls, 0, event)
        closing: tuple[bytes, ...] = ()
    else:
        text_start = {"type": "text", "text": ""}
        head += (
            event(
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": text_start},
            ),
            event("ping", {"type": "ping"}),
        )
        tokens = [_text_delta(piece) for piece in answer.pieces]
        closing = (event("content_block_stop", {"type": "content_block_stop", "index": 0}),)
    finish = {
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason(reply), "stop_sequence": None},
        "usage": {"output_tokens": output_tokens(reply)},
    }
    return StreamFrames(
        head=head,
        tokens=tuple(tokens),
        tail=(*closing, event("message_delta", finish)),
        terminator=event("message_stop", {"type": "message_stop"}),
        malformed=b'event: content_block_delta\ndata: {"type": "content_block_delta", "ind\n\n',
        tool_arguments_at=arguments_at,
    )


def _text_delta(piece: str) -> bytes:
    delta = {"type": "text_delta", "text": piece}
    return event("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta})


def stop_reason(reply: Reply) -> str:
    if reply.tool_calls:
        return "tool_use"
    return "max_tokens" if reply.answer.truncated else "end_turn"


def output_tokens(reply: Reply) -> int:
    if reply.tool_calls:
        return sum(estimate_tokens(c.arguments) for c in reply.tool_calls)
    return reply.answer.tokens
