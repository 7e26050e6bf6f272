"""Provider stream events -> :mod:`orchestrator.streaming.events`, one translator per stream.

A translator is small per-stream state (the upstream id, Anthropic's input-token count
that arrives long before the output count) plus pure mapping. It never raises on a bad
event: a broken event becomes :class:`Malformed`, so one bad line never ends a good answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final, Protocol

import orjson

from orchestrator.policy import OutcomeKind
from orchestrator.providers.anthropic import FINISH_REASONS
from orchestrator.streaming.events import (
    DONE,
    Finish,
    Malformed,
    StreamEvent,
    TextDelta,
    UpstreamError,
    UsageReport,
)
from orchestrator.streaming.sse import ServerSentEvent
from shared.models import Usage

ERROR_TYPE_KINDS: Final[Mapping[str, OutcomeKind]] = MappingProxyType(
    {
        "overloaded_error": OutcomeKind.OVERLOADED,
        "rate_limit_error": OutcomeKind.RATE_LIMITED,
        "rate_limit_exceeded": OutcomeKind.RATE_LIMITED,
        "requests": OutcomeKind.RATE_LIMITED,
        "tokens": OutcomeKind.RATE_LIMITED,
        "api_error": OutcomeKind.SERVER_ERROR,
        "server_error": OutcomeKind.SERVER_ERROR,
        "timeout_error": OutcomeKind.TIMEOUT,
        "authentication_error": OutcomeKind.AUTH_ERROR,
        "permission_error": OutcomeKind.AUTH_ERROR,
        "invalid_request_error": OutcomeKind.CLIENT_ERROR,
        "not_found_error": OutcomeKind.CLIENT_ERROR,
        "context_length_exceeded": OutcomeKind.CONTEXT_LENGTH,
        "content_policy_violation": OutcomeKind.CONTENT_POLICY,
    }
)
"""An in-stream error's type (or code) -> outcome kind; anything unknown is a server error."""

_OPENAI_DONE: Final = b"[DONE]"


class StreamTranslator(Protocol):
    upstream_id: str | None

    @property
    def usage_follows_finish(self) -> bool:
        """Whether usage arrives in an event after the finish (so it is worth waiting for)."""
        ...

    def translate(self, event: ServerSentEvent, out: list[StreamEvent]) -> None:
        """Append what ``event`` says to ``out`` (nothing for keep-alives and the like)."""
        ...


def translator_for(wire_format: str) -> StreamTranslator:
    """A fresh translator for one stream; ValueError for an unknown format."""
    match wire_format:
        case "openai":
            return OpenAIStreamTranslator()
        case "anthropic":
            return AnthropicStreamTranslator()
    raise ValueError(f"no stream translator for wire format {wire_format!r}")


def upstream_error(detail: object) -> UpstreamError:
    """An error event's ``error`` object (either format) as an :class:`UpstreamError`."""
    if not isinstance(detail, dict):
        return UpstreamError(OutcomeKind.SERVER_ERROR, str(detail))
    message = detail.get("message")
    error_type = detail.get("type")
    code = detail.get("code")
    kind = ERROR_TYPE_KINDS.get(code) if isinstance(code, str) else None
    if kind is None and isinstance(error_type, str):
        kind = ERROR_TYPE_KINDS.get(error_type)
    return UpstreamError(
        kind or OutcomeKind.SERVER_ERROR,
        message if isinstance(message, str) else "the provider reported an error mid-stream",
        error_type if isinstance(error_type, str) else None,
    )


def _json_object(data: bytes) -> dict[str, Any] | Malformed:
    try:
        decoded = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        return Malformed(f"event data is not JSON: {exc}")
    if not isinstance(decoded, dict):
        return Malformed("event data is not a JSON object")
    return decoded


def _count(container: Mapping[str, Any], key: str) -> int | None:
    value = container.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


class OpenAIStreamTranslator:
    """``chat.completion.chunk`` events: content deltas, a finish, then (asked for) usage."""

    __slots__ = ("upstream_id",)

    def __init__(self) -> None:
        self.upstream_id: str | None = None

    @property
    def usage_follows_finish(self) -> bool:
        return True  # the adapter always asks for stream_options.include_usage

    def translate(self, event: ServerSentEvent, out: list[StreamEvent]) -> None:
        if event.data == _OPENAI_DONE:
            out.append(DONE)
            return
        chunk = _json_object(event.data)
        if isinstance(chunk, Malformed):
            out.append(chunk)
            return
        if chunk.get("error"):
            out.append(upstream_error(chunk["error"]))
            return
        choices = chunk.get("choices")
        if not isinstance(choices, list):
            out.append(Malformed("'choices' is not an array"))
            return
        if self.upstream_id is None and isinstance(chunk.get("id"), str):
            self.upstream_id = chunk["id"]
        for choice in choices:
            if isinstance(choice, dict) and choice.get("index", 0) == 0:
                _choice_events(choice, out)
        usage = chunk.get("usage")
        if usage is not None:
            out.append(_openai_usage(usage))


def _choice_events(choice: Mapping[str, Any], out: list[StreamEvent]) -> None:
    delta = choice.get("delta")
    if isinstance(delta, dict):
        # A refusal streams in its own field where the content would be.
        text = delta.get("content") or delta.get("refusal")
        if isinstance(text, str) and text:
            out.append(TextDelta(text))
    reason = choice.get("finish_reason")
    if isinstance(reason, str):
        out.append(Finish(reason))


def _openai_usage(raw: object) -> UsageReport | Malformed:
    if not isinstance(raw, dict):
        return Malformed("'usage' is not an object")
    prompt, completion = _count(raw, "prompt_tokens"), _count(raw, "completion_tokens")
    if prompt is None or completion is None:
        return Malformed("'usage' token counts are not non-negative integers")
    return UsageReport(Usage(prompt, completion))


class AnthropicStreamTranslator:
    """Messages-API events: message_start ... content_block_delta ... message_delta, stop."""

    __slots__ = ("_input_tokens", "upstream_id")

    def __init__(self) -> None:
        self.upstream_id: str | None = None
        self._input_tokens = 0

    @property
    def usage_follows_finish(self) -> bool:
        return False  # message_delta carries the stop reason and the output count together

    def translate(self, event: ServerSentEvent, out: list[StreamEvent]) -> None:
        data = _json_object(event.data)
        if isinstance(data, Malformed):
            out.append(data)
            return
        # The data's own "type" is authoritative; the event line only repeats it.
        kind = data.get("type", event.event)
        match kind:
            case "content_block_delta":
                _anthropic_delta(data.get("delta"), out)
            case "content_block_start":
                block = data.get("content_block")
                if isinstance(block, dict) and block.get("type") == "text":
                    text = block.get("text")
                    if isinstance(text, str) and text:
                        out.append(TextDelta(text))
            case "message_start":
                self._start(data.get("message"), out)
            case "message_delta":
                self._finish(data, out)
            case "message_stop":
                out.append(DONE)
            case "error":
                out.append(upstream_error(data.get("error")))
            # ping, content_block_stop and event types added later carry nothing we relay.

    def _start(self, message: object, out: list[StreamEvent]) -> None:
        if not isinstance(message, dict):
            out.append(Malformed("message_start has no 'message' object"))
            return
        if isinstance(message.get("id"), str):
            self.upstream_id = message["id"]
        usage = message.get("usage")
        if isinstance(usage, dict):
            self._input_tokens = sum(
                _count(usage, key) or 0
                for key in (
                    "input_tokens",
                    "cache_creation_input_tokens",
                    "cache_read_input_tokens",
                )
            )

    def _finish(self, data: Mapping[str, Any], out: list[StreamEvent]) -> None:
        usage = data.get("usage")
        output_tokens = _count(usage, "output_tokens") if isinstance(usage, dict) else None
        if output_tokens is not None:
            out.append(UsageReport(Usage(self._input_tokens, output_tokens)))
        delta = data.get("delta")
        reason = delta.get("stop_reason") if isinstance(delta, dict) else None
        if isinstance(reason, str):
            out.append(Finish(FINISH_REASONS.get(reason, "stop")))


def _anthropic_delta(delta: object, out: list[StreamEvent]) -> None:
    if not isinstance(delta, dict):
        out.append(Malformed("content_block_delta has no 'delta' object"))
        return
    if delta.get("type") == "text_delta":
        text = delta.get("text")
        if not isinstance(text, str):
            out.append(Malformed("text_delta has no 'text' string"))
        elif text:
            out.append(TextDelta(text))
    # thinking and tool-input deltas have no place in a chat.completion.chunk content.
