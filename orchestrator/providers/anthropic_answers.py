"""An Anthropic Messages answer as an OpenAI ``chat.completion``, keeping its meaning.

- ``text`` blocks are joined into ``message.content``; ``tool_use`` blocks become
  ``message.tool_calls`` (``type: function``, the block's id, its input as a JSON string),
  and ``content`` is null when the answer only calls tools, as OpenAI's is.
- ``thinking`` blocks are joined into ``message.reasoning_content`` (the field
  OpenAI-compatible reasoning models use); ``redacted_thinking`` is left out.
- The forced tool of JSON mode or a JSON schema (:mod:`.anthropic_requests`) becomes the
  JSON text of ``message.content`` with ``finish_reason: stop``, as OpenAI answers it.
- ``stop_reason`` -> ``finish_reason`` (:data:`FINISH_REASONS`).
- ``usage``: ``prompt_tokens`` counts cache reads and writes as well as ``input_tokens``
  (OpenAI's prompt count includes cached tokens), with the reads as
  ``prompt_tokens_details.cached_tokens``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

import orjson

from orchestrator.answers import Completion
from orchestrator.providers.base import MalformedResponse, load_json_object, token_count
from shared.models import Usage

FINISH_REASONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "end_turn": "stop",
        "stop_sequence": "stop",
        "pause_turn": "stop",
        "max_tokens": "length",
        "model_context_window_exceeded": "length",
        "tool_use": "tool_calls",
        "refusal": "content_filter",
    }
)
"""Anthropic ``stop_reason`` -> OpenAI ``finish_reason``; a reason added later maps to stop."""
CACHE_FIELDS: Final = ("cache_creation_input_tokens", "cache_read_input_tokens")


def finish_reason(stop_reason: object, json_tool: str | None) -> str:
    if not isinstance(stop_reason, str):
        return "stop"
    if json_tool is not None and stop_reason == "tool_use":
        return "stop"  # the forced JSON tool is how this answer ends, not a call to run
    return FINISH_REASONS.get(stop_reason, "stop")


def usage_of(usage: Mapping[str, Any], output_tokens: int | None = None) -> Usage:
    prompt = token_count(usage, "input_tokens", "usage")
    for cached in CACHE_FIELDS:
        if usage.get(cached) is not None:
            prompt += token_count(usage, cached, "usage")
    if output_tokens is None:
        output_tokens = token_count(usage, "output_tokens", "usage")
    read = usage.get("cache_read_input_tokens")
    details = None
    if isinstance(read, int) and not isinstance(read, bool):
        details = {"prompt_tokens_details": {"cached_tokens": read}}
    return Usage(prompt, output_tokens, details)


def parse_message(body: bytes, json_tool: str | None, now: float | None = None) -> Completion:
    data = load_json_object(body)
    if data.get("type") != "message":
        raise MalformedResponse(f"expected type 'message', got {data.get('type')!r}")
    content = data.get("content")
    if not isinstance(content, list):
        raise MalformedResponse("'content' is not an array")
    usage = data.get("usage")
    if not isinstance(usage, dict):
        raise MalformedResponse("'usage' is not an object")
    message = _message(content, json_tool)
    reason = finish_reason(data.get("stop_reason"), json_tool)
    counts = usage_of(usage)
    upstream_id = data.get("id") if isinstance(data.get("id"), str) else None
    body_json = {
        "id": upstream_id,
        "object": "chat.completion",
        "created": int(time.time() if now is None else now),
        "model": data.get("model"),
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": reason}],
        "usage": counts.to_openai(),
    }
    return Completion(
        content=message["content"] or "",
        finish_reason=reason,
        usage=counts,
        upstream_id=upstream_id,
        body=body_json,
        # Not for a JSON-mode answer: its forced tool is ours, not the caller's.
        native=data if json_tool is None else None,
    )


def _message(content: list[Any], json_tool: str | None) -> dict[str, Any]:
    texts: list[str] = []
    thinking: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in content:
        if not isinstance(block, dict):
            raise MalformedResponse("a 'content' block is not an object")
        match block.get("type"):
            case "text":
                texts.append(_string(block, "text"))
            case "thinking":
                thinking.append(_string(block, "thinking"))
            case "tool_use" if json_tool is not None and block.get("name") == json_tool:
                texts.append(orjson.dumps(block.get("input", {})).decode())
            case "tool_use":
                calls.append(tool_call(block))
    message: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(texts) if texts or not calls else None,
        "refusal": None,
    }
    if calls:
        message["tool_calls"] = calls
    if thinking:
        message["reasoning_content"] = "".join(thinking)
    return message


def tool_call(block: Mapping[str, Any]) -> dict[str, Any]:
    call_id, name = block.get("id"), block.get("name")
    if not isinstance(call_id, str) or not isinstance(name, str):
        raise MalformedResponse("a 'tool_use' block has no string 'id' and 'name'")
    arguments = orjson.dumps(block.get("input", {})).decode()
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def _string(block: Mapping[str, Any], key: str) -> str:
    value = block.get(key)
    if not isinstance(value, str):
        raise MalformedResponse(f"a '{block.get('type')}' block has no string '{key}'")
    return value
