"""The Anthropic Messages wire format, translated to and from our OpenAI-shaped request.

Request translation, where the formats differ:

- ``system`` and ``developer`` messages are joined into the top-level ``system`` text
  (Anthropic has no system turns); when they are the only messages they become the one
  user turn instead, since Anthropic rejects an empty ``messages`` list.
- ``tool``/``function`` results become user text and an assistant's ``tool_calls`` become
  assistant text: we do not forward tool definitions, so tool-use blocks would be rejected.
- Consecutive turns of the same role are merged (Anthropic requires alternation); empty
  text is dropped (Anthropic rejects empty text blocks).
- Content parts become blocks: text, and ``image_url`` as a URL or base64 image source;
  parts with no Anthropic equivalent (audio, files) are dropped.
- ``max_tokens`` is required by Anthropic: the caller's (capped at the deployment's output
  limit) or ``min(deployment.max_output_tokens, 4096)``.
- ``temperature`` is clamped into Anthropic's 0..1 (OpenAI allows 0..2), so a caller's
  2.0 means "as random as this provider goes" rather than a 400 after a failover.
- ``stop`` becomes ``stop_sequences``. Unknown OpenAI fields are not forwarded: Anthropic
  rejects fields it does not know.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, final

import orjson

from orchestrator.answers import Completion
from orchestrator.decision import Outcome, OutcomeKind
from orchestrator.providers.anthropic_stream import FINISH_REASONS, AnthropicStreamTranslator
from orchestrator.providers.base import (
    MalformedResponse,
    common_headers,
    load_json_object,
    token_count,
)
from orchestrator.providers.errors import ProviderError, error_outcome, parse_error_body
from orchestrator.transport.base import UpstreamRequest
from shared.models import ChatMessage, ChatRequest, Usage

if TYPE_CHECKING:
    from orchestrator.routing.router import Deployment

MESSAGES_PATH: Final = "/v1/messages"
ANTHROPIC_VERSION: Final = "2023-06-01"
DEFAULT_MAX_TOKENS_CAP: Final = 4096
TEMPERATURE_MAX: Final = 1.0
SYSTEM_ROLES: Final = frozenset({"system", "developer"})
TOOL_RESULT_ROLES: Final = frozenset({"tool", "function"})

CONTEXT_LENGTH_PHRASES: Final = ("prompt is too long",)
CONTENT_POLICY_PHRASES: Final = ("content filtering policy",)


@final
class AnthropicAdapter:
    __slots__ = ("_now",)

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now  # Unix time, for a Retry-After given as an HTTP-date

    @property
    def wire_format(self) -> str:
        return "anthropic"

    def build_request(
        self, request: ChatRequest, deployment: Deployment, request_id: str, attempt_number: int
    ) -> UpstreamRequest:
        headers = common_headers(request, request_id, attempt_number)
        headers["anthropic-version"] = ANTHROPIC_VERSION
        api_key = deployment.provider.api_key
        if api_key:
            headers["x-api-key"] = api_key
        return UpstreamRequest(
            url=deployment.provider.base_url.rstrip("/") + MESSAGES_PATH,
            headers=headers,
            body=orjson.dumps(request_body(request, deployment)),
        )

    def parse_success(self, body: bytes) -> Completion:
        return parse_message(body)

    def classify_error(self, status: int, headers: Mapping[str, str], body: bytes) -> Outcome:
        return error_outcome(status, headers, parse_error_body(body), _refine, self._now)

    def stream_translator(self) -> AnthropicStreamTranslator:
        return AnthropicStreamTranslator()


ANTHROPIC_ADAPTER: Final = AnthropicAdapter()


def request_body(request: ChatRequest, deployment: Deployment) -> dict[str, Any]:
    system, turns = conversation(request.messages)
    body: dict[str, Any] = {
        "model": deployment.model,
        "max_tokens": max_tokens(request, deployment),
        "messages": turns,
    }
    if system:
        body["system"] = system
    if request.temperature is not None:
        body["temperature"] = min(request.temperature, TEMPERATURE_MAX)
    if request.top_p is not None:
        body["top_p"] = request.top_p
    if request.stop:
        body["stop_sequences"] = list(request.stop)
    if request.stream:
        body["stream"] = True
    return body


def max_tokens(request: ChatRequest, deployment: Deployment) -> int:
    if request.max_tokens is None:
        return min(deployment.max_output_tokens, DEFAULT_MAX_TOKENS_CAP)
    return min(request.max_tokens, deployment.max_output_tokens)


def conversation(messages: Sequence[ChatMessage]) -> tuple[str, list[dict[str, Any]]]:
    """The top-level ``system`` text and the alternating Anthropic turns."""
    system_parts: list[str] = []
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message.role in SYSTEM_ROLES:
            if message.text:
                system_parts.append(message.text)
            continue
        blocks = content_blocks(message)
        if not blocks:
            continue
        role = "assistant" if message.role == "assistant" else "user"
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    system = "\n\n".join(system_parts)
    if not turns and system:
        return "", [{"role": "user", "content": [_text_block(system)]}]
    return system, turns


def content_blocks(message: ChatMessage) -> list[dict[str, Any]]:
    if message.role in TOOL_RESULT_ROLES:
        return _text_blocks(_tool_result_text(message))
    content = message.content
    if content is None:
        blocks = []
    elif isinstance(content, str):
        blocks = _text_blocks(content)
    else:
        blocks = [block for part in content if (block := _part_block(part)) is not None]
    if message.role == "assistant":
        blocks.extend(_text_blocks(_tool_calls_text(message.extra.get("tool_calls"))))
    return blocks


def parse_message(body: bytes) -> Completion:
    data = load_json_object(body)
    if data.get("type") != "message":
        raise MalformedResponse(f"expected type 'message', got {data.get('type')!r}")
    content = data.get("content")
    if not isinstance(content, list):
        raise MalformedResponse("'content' is not an array")
    usage = data.get("usage")
    if not isinstance(usage, dict):
        raise MalformedResponse("'usage' is not an object")
    stop_reason = data.get("stop_reason")
    upstream_id = data.get("id")
    return Completion(
        content="".join(
            block["text"]
            for block in content
            if isinstance(block, dict)
            and block.get("type") == "text"
            and isinstance(block.get("text"), str)
        ),
        finish_reason=FINISH_REASONS.get(stop_reason, "stop")
        if isinstance(stop_reason, str)
        else "stop",
        usage=_usage(usage),
        upstream_id=upstream_id if isinstance(upstream_id, str) else None,
    )


def _usage(usage: Mapping[str, Any]) -> Usage:
    # OpenAI's prompt_tokens counts cached prompt tokens too; Anthropic reports them apart.
    prompt = token_count(usage, "input_tokens", "usage")
    for cached in ("cache_creation_input_tokens", "cache_read_input_tokens"):
        if usage.get(cached) is not None:
            prompt += token_count(usage, cached, "usage")
    return Usage(
        prompt_tokens=prompt, completion_tokens=token_count(usage, "output_tokens", "usage")
    )


def _text_block(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def _text_blocks(text: str) -> list[dict[str, Any]]:
    return [_text_block(text)] if text else []


def _part_block(part: Mapping[str, Any]) -> dict[str, Any] | None:
    match part.get("type"):
        case "text":
            text = part.get("text")
            return _text_block(text) if isinstance(text, str) and text else None
        case "image_url":
            return _image_block(part.get("image_url"))
    return None


def _image_block(image_url: object) -> dict[str, Any] | None:
    url = image_url.get("url") if isinstance(image_url, dict) else image_url
    if not isinstance(url, str) or not url:
        return None
    if url.startswith("data:"):
        # data:<media type>;base64,<data>
        header, _, data = url[len("data:") :].partition(",")
        media_type, _, encoding = header.partition(";")
        if encoding != "base64" or not data:
            return None
        source = {"type": "base64", "media_type": media_type, "data": data}
        return {"type": "image", "source": source}
    return {"type": "image", "source": {"type": "url", "url": url}}


def _tool_result_text(message: ChatMessage) -> str:
    label = message.extra.get("tool_call_id") or message.name
    prefix = f"Tool result ({label})" if isinstance(label, str) and label else "Tool result"
    return f"{prefix}: {message.text}"


def _tool_calls_text(tool_calls: object) -> str:
    if not isinstance(tool_calls, list):
        return ""
    lines = []
    for call in tool_calls:
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            lines.append(
                f"Called tool {function.get('name')} with arguments {function.get('arguments')}"
            )
    return "\n".join(lines)


def _refine(error: ProviderError) -> OutcomeKind | None:
    message = (error.message or "").lower()
    if any(phrase in message for phrase in CONTEXT_LENGTH_PHRASES):
        return OutcomeKind.CONTEXT_LENGTH
    if any(phrase in message for phrase in CONTENT_POLICY_PHRASES):
        return OutcomeKind.CONTENT_POLICY
    return None
