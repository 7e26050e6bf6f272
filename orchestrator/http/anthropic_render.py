"""The Messages API's answers: an Anthropic ``message`` body, or Anthropic's error body.

The engine's answer is in the OpenAI vocabulary (:class:`~orchestrator.answers.Completion`);
an Anthropic deployment's own ``message`` is kept beside it and goes out whole (thinking
signatures, citations and fields we do not know included). Any other answer is translated:

- the first choice's text -> a ``text`` block; ``tool_calls`` -> ``tool_use`` blocks (the
  arguments parsed; arguments that are not a JSON object go under ``_arguments``, as the
  other direction does);
- ``finish_reason`` -> ``stop_reason`` (:data:`STOP_REASONS`);
- usage: ``input_tokens`` is the prompt less its cached part, which is
  ``cache_read_input_tokens`` (OpenAI counts cached tokens in the prompt, Anthropic does not).

Statuses follow Anthropic's: every provider failed -> 500 ``api_error``; no deployment
available (breakers open, overloaded) -> 529 ``overloaded_error``; every deployment
rate-limited -> 429 ``rate_limit_error``; the deadline -> 504 ``timeout_error``; a
provider's 4xx and our own rejections keep their status.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

import orjson

from orchestrator.answers import Completion
from shared.models import Usage

STOP_REASONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "stop": "end_turn",
        "length": "max_tokens",
        "tool_calls": "tool_use",
        "function_call": "tool_use",
        "content_filter": "refusal",
    }
)
"""OpenAI ``finish_reason`` -> Anthropic ``stop_reason``; anything else ends the turn."""

ERROR_TYPES: Final[Mapping[int, str]] = MappingProxyType(
    {
        400: "invalid_request_error",
        401: "authentication_error",
        402: "billing_error",
        403: "permission_error",
        404: "not_found_error",
        408: "timeout_error",
        413: "request_too_large",
        429: "rate_limit_error",
        500: "api_error",
        504: "timeout_error",
        529: "overloaded_error",
    }
)
_CALLER_STATUS: Final[Mapping[int, int]] = MappingProxyType({502: 500, 503: 529})
"""Our failure statuses that Anthropic has no use for, as the ones it answers instead."""
_RATE_LIMITED: Final = "upstream_rate_limited"


def caller_status(status: int, code: str | None = None) -> int:
    """The status Anthropic would answer: every deployment rate-limited is its 429."""
    if code == _RATE_LIMITED:
        return 429
    return _CALLER_STATUS.get(status, status)


def error_type(status: int) -> str:
    found = ERROR_TYPES.get(status)
    if found is not None:
        return found
    return "invalid_request_error" if status < 500 else "api_error"


def anthropic_error_body(status: int, message: str, **extension: Any) -> dict[str, Any]:
    """``{"type": "error", "error": {"type": ..., "message": ...}}``; ``extension`` fields
    (our ``code``, ``param``) go in the error object, where the SDK ignores them."""
    error: dict[str, Any] = {"type": error_type(status), "message": message}
    error.update((k, v) for k, v in extension.items() if v is not None)
    return {"type": "error", "error": error}


def message_body(completion: Completion, model: str, message_id: str) -> dict[str, Any]:
    """The answer as an Anthropic ``message``."""
    native = completion.native
    if native is not None:
        return dict(native)
    body = completion.body or {}
    choices = body.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices else {}
    message = choice.get("message") or {}
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": body.get("model") or model,
        "content": content_blocks(message, completion.content),
        "stop_reason": STOP_REASONS.get(completion.finish_reason, "end_turn"),
        "stop_sequence": None,
        "usage": usage_json(completion.usage),
    }


def content_blocks(message: Mapping[str, Any], text: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        blocks.append(
            {
                "type": "tool_use",
                "id": call.get("id"),
                "name": function.get("name"),
                "input": tool_input(function.get("arguments")),
            }
        )
    return blocks


def tool_input(arguments: object) -> dict[str, Any]:
    if not isinstance(arguments, str) or not arguments.strip():
        return {}
    try:
        decoded = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return {"_arguments": arguments}
    return decoded if isinstance(decoded, dict) else {"_arguments": decoded}


def usage_json(usage: Usage | None) -> dict[str, Any]:
    if usage is None:
        return {"input_tokens": 0, "output_tokens": 0}
    cached = _cached_tokens(usage.details)
    return {
        "input_tokens": max(0, usage.prompt_tokens - cached),
        "output_tokens": usage.completion_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
    }


def _cached_tokens(details: Mapping[str, Any] | None) -> int:
    prompt = details.get("prompt_tokens_details") if details else None
    cached = prompt.get("cached_tokens") if isinstance(prompt, dict) else None
    return cached if isinstance(cached, int) and not isinstance(cached, bool) else 0
