"""How metrics and journeys hear about streams: what happened after the commit point.

Everything before the first token is an ordinary attempt and reaches the engine's
observer like any other. What only a stream has (malformed events skipped, how the
relay ended) is reported here. The app reads the observer from ``STREAM_OBSERVER_KEY``
when set, so wiring metrics in is one assignment in ``create_app``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Protocol

from aiohttp import web

from orchestrator.routing.router import Deployment
from shared.models import Usage


class StreamEnd(StrEnum):
    COMPLETED = "completed"  # finish reason relayed, then [DONE]
    INTERRUPTED = "stream_interrupted"  # upstream closed without a finish
    STALLED = "stream_stalled"  # no progress (content) for the idle limit
    TOO_LONG = "stream_too_long"  # still going at the stream's duration limit
    UPSTREAM_ERROR = "upstream_stream_error"  # an error event from the provider
    CLIENT_DISCONNECTED = "client_disconnected"  # the caller left; upstream cancelled
    INTERNAL_ERROR = "internal_error"


PROVIDER_FAILURES: Final = frozenset(
    {StreamEnd.INTERRUPTED, StreamEnd.STALLED, StreamEnd.UPSTREAM_ERROR, StreamEnd.TOO_LONG}
)
"""Ends where the provider broke a stream it had started: as much a failure as a 5xx."""


@dataclass(frozen=True, slots=True)
class StreamReport:
    """One relayed stream, from commit to its end."""

    request_id: str
    end: StreamEnd
    content_chunks: int
    malformed_events: int
    relay_duration_s: float
    usage: Usage | None


class StreamObserver(Protocol):
    def on_malformed_event(self, deployment: Deployment, reason: str) -> None: ...

    def on_stream_end(self, deployment: Deployment, report: StreamReport) -> None: ...


class NullStreamObserver:
    def on_malformed_event(self, deployment: Deployment, reason: str) -> None:
        pass

    def on_stream_end(self, deployment: Deployment, report: StreamReport) -> None:
        pass


STREAM_OBSERVER_KEY: Final = web.AppKey("stream_observer", StreamObserver)
