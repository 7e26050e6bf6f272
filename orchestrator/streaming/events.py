"""What an upstream stream says, in one vocabulary whatever the provider's wire format.

The translators turn provider events into these; the pre-commit reader, the relay and the
buffered mode only ever look at these, so they are written once for both formats.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from orchestrator.policy import OutcomeKind
from shared.models import Usage


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
