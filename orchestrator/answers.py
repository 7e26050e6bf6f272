"""What a provider answered, in one vocabulary whatever its wire format.

A plain answer is parsed into a :class:`Completion`; a stream's events are translated into
:data:`StreamEvent` values by a :class:`StreamTranslator`. The providers (``providers/``)
produce these; the engine, the commit-point reader, the relay and the renderers only ever
look at these, so they are written once for every format.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol

from orchestrator.decision import OutcomeKind
from shared.models import Usage
from shared.values import value

if TYPE_CHECKING:
    from orchestrator.streaming.sse import ServerSentEvent


@value
class Completion:
    """A successful, parsed answer in the OpenAI vocabulary.

    ``body`` is the whole answer as an OpenAI ``chat.completion`` object: an OpenAI-format
    provider's own body, untouched (fields we do not know included), or a translation of
    another format's. The other fields summarise it for the engine, the logs and metrics.
    """

    content: str  # the first choice's text
    finish_reason: str  # the first choice's: stop, length, content_filter, tool_calls
    usage: Usage
    upstream_id: str | None = None
    body: Mapping[str, Any] | None = field(default=None, compare=False)
    # The provider's own body when its wire format is not OpenAI's (an Anthropic message):
    # a caller of that format's API gets it whole, with nothing lost to translation.
    native: Mapping[str, Any] | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class TextDelta:
    """Text of the first choice: nearly every event of nearly every stream."""

    text: str


@dataclass(frozen=True, slots=True)
class ChoiceDelta:
    """Any other delta, in OpenAI's ``choices[].delta`` shape: tool-call fragments, a
    refusal, reasoning, another choice's text, logprobs; relayed as it came."""

    index: int
    delta: Mapping[str, Any]
    logprobs: Any = None


@dataclass(frozen=True, slots=True)
class Finish:
    reason: str  # OpenAI vocabulary: stop, length, content_filter, tool_calls
    index: int = 0  # the choice it ends


@dataclass(frozen=True, slots=True)
class UsageReport:
    usage: Usage


@dataclass(frozen=True, slots=True)
class UpstreamError:
    """An error event inside a 200 stream (OpenAI ``{"error": ...}``, Anthropic ``error``)."""

    kind: OutcomeKind
    message: str
    error_type: str | None = None


@dataclass(frozen=True, slots=True)
class Malformed:
    """An event that is not the provider's shape: skipped, logged and counted."""

    reason: str


@dataclass(frozen=True, slots=True)
class Done:
    """The provider's terminator: OpenAI ``[DONE]``, Anthropic ``message_stop``."""


DONE: Final = Done()

StreamEvent = TextDelta | ChoiceDelta | Finish | UsageReport | UpstreamError | Malformed | Done
Relayable = TextDelta | ChoiceDelta | Finish
"""What reaches the caller as it arrives (a finish only when other choices still stream)."""


class StreamTranslator(Protocol):
    """One stream's translator: small per-stream state plus pure mapping. It never raises
    on a bad event: a broken event becomes :class:`Malformed`."""

    upstream_id: str | None
    upstream_model: str | None
    # Top-level fields of the provider's chunks that are not the answer's (OpenAI's
    # system_fingerprint, service_tier), relayed on every chunk.
    meta: dict[str, Any]

    @property
    def usage_follows_finish(self) -> bool:
        """Whether usage arrives in an event after the finish (so it is worth waiting for)."""
        ...

    def translate(self, event: ServerSentEvent, out: list[StreamEvent]) -> None:
        """Append what ``event`` says to ``out`` (nothing for keep-alives and the like)."""
        ...


def completion_events(completion: Completion) -> list[Relayable]:
    """A whole answer as the stream events that would have carried it (a provider that
    ignored ``stream``): each choice's text, its other message fields, then its finish."""
    body = completion.body
    choices = body.get("choices") if body is not None else None
    if not isinstance(choices, list):
        events: list[Relayable] = [TextDelta(completion.content)] if completion.content else []
        return [*events, Finish(completion.finish_reason)]
    out: list[Relayable] = []
    for position, choice in enumerate(choices):
        index = choice.get("index", position)
        message = choice.get("message") or {}
        text = message.get("content")
        if isinstance(text, str) and text:
            out.append(TextDelta(text) if index == 0 else ChoiceDelta(index, {"content": text}))
        rest = {k: v for k, v in message.items() if k not in ("role", "content") and v}
        if "tool_calls" in rest:
            rest["tool_calls"] = [{"index": i, **call} for i, call in enumerate(rest["tool_calls"])]
        if rest:
            out.append(ChoiceDelta(index, rest))
        out.append(Finish(choice.get("finish_reason") or "stop", index))
    return out
