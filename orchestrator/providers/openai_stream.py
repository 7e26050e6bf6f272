"""OpenAI ``chat.completion.chunk`` stream events -> :mod:`orchestrator.answers` events.

Nothing is dropped: the first choice's plain text becomes a :class:`TextDelta` (the cheap
common case); every other delta (tool-call fragments, a refusal, another choice, logprobs,
fields we do not know) a :class:`ChoiceDelta` holding it as it came.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from orchestrator.answers import (
    DONE,
    ChoiceDelta,
    Finish,
    Malformed,
    StreamEvent,
    TextDelta,
    UsageReport,
)
from orchestrator.providers.base import event_count, event_json, usage_details
from orchestrator.providers.errors import stream_error
from orchestrator.streaming.sse import ServerSentEvent
from shared.models import Usage

_OPENAI_DONE: Final = b"[DONE]"
_CHUNK_FIELDS: Final = frozenset({"id", "object", "created", "model", "choices", "usage"})
_TEXT_ONLY_KEYS: Final = frozenset({"role", "content"})


class OpenAIStreamTranslator:
    """``chat.completion.chunk`` events: deltas, finishes, then (asked for) usage."""

    __slots__ = ("meta", "upstream_id", "upstream_model")

    def __init__(self) -> None:
        self.upstream_id: str | None = None
        self.upstream_model: str | None = None
        self.meta: dict[str, Any] = {}

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
        if self.upstream_id is None:
            self._first_chunk(chunk)
        for choice in choices:
            if isinstance(choice, dict):
                _choice_events(choice, out)
        usage = chunk.get("usage")
        if usage is not None:
            out.append(_openai_usage(usage))

    def _first_chunk(self, chunk: Mapping[str, Any]) -> None:
        if isinstance(chunk.get("id"), str):
            self.upstream_id = chunk["id"]
        if isinstance(chunk.get("model"), str):
            self.upstream_model = chunk["model"]
        if len(chunk) > len(_CHUNK_FIELDS):
            self.meta = {k: v for k, v in chunk.items() if k not in _CHUNK_FIELDS}


def _choice_events(choice: Mapping[str, Any], out: list[StreamEvent]) -> None:
    index = choice.get("index", 0)
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        out.append(Malformed(f"'choices[].index' is not a choice index: {index!r}"))
        return
    delta = choice.get("delta")
    logprobs = choice.get("logprobs")
    if isinstance(delta, dict):
        if index == 0 and logprobs is None and _text_only(delta):
            text = delta.get("content")
            if isinstance(text, str) and text:
                out.append(TextDelta(text))
        else:
            kept = {k: v for k, v in delta.items() if v is not None and v != "" and k != "role"}
            if kept or logprobs is not None:
                out.append(ChoiceDelta(index, kept, logprobs))
    reason = choice.get("finish_reason")
    if isinstance(reason, str):
        out.append(Finish(reason, index))


def _text_only(delta: Mapping[str, Any]) -> bool:
    """Only text (and the role, which the encoder writes itself): nothing else is set."""
    return all(v is None or k in _TEXT_ONLY_KEYS for k, v in delta.items())


def _openai_usage(raw: object) -> UsageReport | Malformed:
    if not isinstance(raw, dict):
        return Malformed("'usage' is not an object")
    prompt, completion = event_count(raw, "prompt_tokens"), event_count(raw, "completion_tokens")
    if prompt is None or completion is None:
        return Malformed("'usage' token counts are not non-negative integers")
    return UsageReport(Usage(prompt, completion, usage_details(raw)))
