"""OpenAI's answer shapes for the mock: choices, tool calls, and the chunks that stream them.

A stream sends each choice in turn (its text word by word, or its tool calls: a chunk
naming each call, then its arguments in fragments), a finish chunk per choice, and the
usage chunk when asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import orjson

from mock_provider.dialect import Reply, StreamFrames
from mock_provider.tools import ToolCall, ToolSpec, ToolUse
from shared.models import ChatRequest, estimate_tokens

SYSTEM_FINGERPRINT: Final = "fp_mock"


def _sse(payload: Mapping[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def openai_tool_use(request: ChatRequest) -> ToolUse:
    tools = tuple(
        ToolSpec(t["function"]["name"], t["function"].get("parameters") or {})
        for t in request.tools
        if t.get("type") == "function"
    )
    choice = request.tool_choice
    mode, forced = "auto", None
    if choice == "none":
        mode = "none"
    elif choice == "required":
        mode = "any"
    elif isinstance(choice, dict):
        mode, forced = "tool", choice["function"]["name"]
    last_user = next((m.text for m in reversed(request.messages) if m.role == "user"), "")
    return ToolUse(
        tools=tools,
        mode=mode,
        forced=forced,
        parallel=request.parallel_tool_calls is not False,
        after_tool_result=request.messages[-1].role == "tool",
        last_user_text=last_user,
    )


def completion_tokens(reply: Reply) -> int:
    """Tokens of what the answer says: each choice's text, or the first one's tool calls."""
    first = (
        sum(estimate_tokens(c.arguments) for c in reply.tool_calls)
        if reply.tool_calls
        else reply.answer.tokens
    )
    return first + sum(answer.tokens for answer in reply.more_answers)


def usage_json(prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    }


def _call_json(call: ToolCall) -> dict[str, Any]:
    return {
        "id": call.call_id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments},
    }


def choice_json(reply: Reply, index: int, answer: Any) -> dict[str, Any]:
    calls = reply.tool_calls if index == 0 else ()
    message: dict[str, Any] = {
        "role": "assistant",
        "content": None if calls else answer.text,
        "refusal": None,
        "annotations": [],
    }
    if calls:
        message["tool_calls"] = [_call_json(c) for c in calls]
    finish = reply.finish_reason if index == 0 else ("length" if answer.truncated else "stop")
    return {"index": index, "message": message, "logprobs": None, "finish_reason": finish}


def openai_stream_frames(reply: Reply) -> StreamFrames:
    call = reply.call
    base: dict[str, Any] = {
        "id": reply.message_id,
        "object": "chat.completion.chunk",
        "created": reply.created,
        "model": call.model,
        "service_tier": "default",
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }
    if call.include_usage:
        base["usage"] = None

    def chunk(index: int, delta: Mapping[str, Any], finish_reason: str | None = None) -> bytes:
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return _sse({**base, "choices": [choice]})

    answers = (reply.answer, *reply.more_answers)
    head = tuple(
        chunk(i, {"role": "assistant", "content": None if i == 0 and reply.tool_calls else ""})
        for i in range(len(answers))
    )
    tokens: list[bytes] = []
    arguments_at: int | None = None
    for index, answer in enumerate(answers):
        if index:
            previous = answers[index - 1]
            tokens.append(chunk(index - 1, {}, _finish(reply, index - 1, previous)))
        if index == 0 and reply.tool_calls:
            arguments_at = _tool_call_chunks(reply.tool_calls, tokens, chunk)
        else:
            tokens.extend(chunk(index, {"content": piece}) for piece in answer.pieces)
    last = len(answers) - 1
    tail = [chunk(last, {}, _finish(reply, last, answers[last]))]
    if call.include_usage:
        usage = usage_json(call.prompt_tokens, completion_tokens(reply))
        tail.append(_sse({**base, "choices": [], "usage": usage}))
    return StreamFrames(
        head=head,
        tokens=tuple(tokens),
        tail=tuple(tail),
        terminator=b"data: [DONE]\n\n",
        malformed=b'data: {"id": "' + reply.message_id.encode() + b'", "choices": [{"del\n\n',
        tool_arguments_at=arguments_at,
    )


def _finish(reply: Reply, index: int, answer: Any) -> str:
    if index == 0:
        return reply.finish_reason
    return "length" if answer.truncated else "stop"


def _tool_call_chunks(calls: tuple[ToolCall, ...], tokens: list[bytes], chunk: Any) -> int:
    """Append each call's chunks; returns the token index halfway into the first call's
    arguments (where the mid-arguments cut fault cuts)."""
    middle = 0
    for tool_index, call in enumerate(calls):
        opening = {
            "index": tool_index,
            "id": call.call_id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        tokens.append(chunk(0, {"tool_calls": [opening]}))
        fragments = call.fragments
        if tool_index == 0:
            middle = len(tokens) + len(fragments) // 2
        tokens.extend(
            chunk(0, {"tool_calls": [{"index": tool_index, "function": {"arguments": f}}]})
            for f in fragments
        )
    return middle
