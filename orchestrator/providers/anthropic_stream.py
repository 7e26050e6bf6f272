"""Anthropic Messages stream events -> :mod:`orchestrator.answers` events."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from orchestrator.answers import (
    DONE,
    Finish,
    Malformed,
    StreamEvent,
    TextDelta,
    UsageReport,
)
from orchestrator.providers.base import event_count, event_json
from orchestrator.providers.errors import stream_error
from orchestrator.streaming.sse import ServerSentEvent
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
        data = event_json(event.data)
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
                out.append(stream_error(data.get("error")))
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
                event_count(usage, key) or 0
                for key in (
                    "input_tokens",
                    "cache_creation_input_tokens",
                    "cache_read_input_tokens",
                )
            )

    def _finish(self, data: Mapping[str, Any], out: list[StreamEvent]) -> None:
        usage = data.get("usage")
        output_tokens = event_count(usage, "output_tokens") if isinstance(usage, dict) else None
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
