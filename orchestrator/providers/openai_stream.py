"""OpenAI ``chat.completion.chunk`` stream events -> :mod:`orchestrator.answers` events."""

from __future__ import annotations

from collections.abc import Mapping
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

_OPENAI_DONE: Final = b"[DONE]"


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
        chunk = event_json(event.data)
        if isinstance(chunk, Malformed):
            out.append(chunk)
            return
        if chunk.get("error"):
            out.append(stream_error(chunk["error"]))
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
    prompt, completion = event_count(raw, "prompt_tokens"), event_count(raw, "completion_tokens")
    if prompt is None or completion is None:
        return Malformed("'usage' token counts are not non-negative integers")
    return UsageReport(Usage(prompt, completion))
