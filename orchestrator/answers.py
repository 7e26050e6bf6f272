"""What a provider answered, in one vocabulary whatever its wire format.

A plain answer is parsed into a :class:`Completion`; a stream's events are translated into
:data:`StreamEvent` values by a :class:`StreamTranslator`. The providers (``providers/``)
produce these; the engine, the commit-point reader, the relay and the renderers only ever
look at these, so they are written once for every format.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol

from orchestrator.decision import OutcomeKind
from shared.models import Usage
from shared.values import value

if TYPE_CHECKING:
    from orchestrator.streaming.sse import ServerSentEvent


@value
class Completion:
    """A successful, parsed answer in the OpenAI vocabulary."""

    content: str
    finish_reason: str  # stop, length, content_filter, tool_calls
    usage: Usage
    upstream_id: str | None = None


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class Finish:
    reason: str  # OpenAI vocabulary: stop, length, content_filter, tool_calls


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

StreamEvent = TextDelta | Finish | UsageReport | UpstreamError | Malformed | Done


class StreamTranslator(Protocol):
    """One stream's translator: small per-stream state plus pure mapping. It never raises
    on a bad event: a broken event becomes :class:`Malformed`."""

    upstream_id: str | None

    @property
    def usage_follows_finish(self) -> bool:
        """Whether usage arrives in an event after the finish (so it is worth waiting for)."""
        ...

    def translate(self, event: ServerSentEvent, out: list[StreamEvent]) -> None:
        """Append what ``event`` says to ``out`` (nothing for keep-alives and the like)."""
        ...
