"""A bounded in-memory store of recent request journeys, for ``GET /v1/requests/{id}``.

Recording is cheap on purpose (it runs on every request): the engine's result is kept as
it is, a frozen value, and turned into JSON only when someone asks for it. When the store
is full the oldest journey is evicted. A request id seen again (a client reusing its
``X-Request-ID``) replaces the older journey and counts as the newest.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Final

from orchestrator.engine import EngineResult, Failure, Success
from orchestrator.requests import RoutedRequest
from orchestrator.streaming.observer import StreamEnd, StreamReport
from shared.models import AttemptRecord, attempts_json
from shared.values import value


@dataclass(frozen=True, slots=True)
class Rejection:
    """A request turned away by validation, before any upstream call."""

    status: int
    message: str
    param: str | None
    code: str | None


@value
class Journey:
    request_id: str
    model: str | None
    received_at: float  # Unix time, seconds
    outcome: EngineResult | Rejection
    preferred_provider: str | None = None
    fallbacks: tuple[str, ...] = ()
    stream: StreamReport | None = None  # how a relayed stream ended, after the commit point
    caller: str | None = None  # the caller key's name, when caller keys are on

    @property
    def status(self) -> int:
        return 200 if isinstance(self.outcome, Success) else self.outcome.status

    def to_json(self) -> dict[str, Any]:
        outcome = self.outcome
        attempts = () if isinstance(outcome, Rejection) else outcome.attempts
        return {
            "object": "request.journey",
            "request_id": self.request_id,
            "model": self.model,
            "preferred_provider": self.preferred_provider,
            "fallbacks": list(self.fallbacks),
            "received_at": round(self.received_at, 3),
            "status": self.status,
            "outcome": _outcome_name(outcome, self.stream),
            "provider": outcome.deployment.provider.name if isinstance(outcome, Success) else None,
            "served_by": outcome.deployment.key if isinstance(outcome, Success) else None,
            "attempts": len(attempts),
            "total_latency_ms": (
                None
                if isinstance(outcome, Rejection)
                else round(outcome.total_latency_s * 1000.0, 3)
            ),
            "attempt_log": _timeline(attempts),
            "skipped": [] if isinstance(outcome, Rejection) else attempts_json(outcome.skipped),
            "route": None
            if isinstance(outcome, Rejection) or outcome.route is None
            else outcome.route.to_json(),
            "error": _error(outcome, self.stream),
            "stream": _stream(self.stream),
            "caller": self.caller,
        }


def _stream(report: StreamReport | None) -> dict[str, Any] | None:
    if report is None:
        return None
    return {
        "end": report.end.value,
        "content_chunks": report.content_chunks,
        "malformed_events": report.malformed_events,
        "relay_ms": round(report.relay_duration_s * 1000.0, 3),
    }


def _outcome_name(outcome: EngineResult | Rejection, stream: StreamReport | None) -> str:
    """A stream is told by how it ended, not by its commit point (where it was a success)."""
    if stream is not None and stream.end is not StreamEnd.COMPLETED:
        return stream.end.value
    if isinstance(outcome, Success):
        return "success"
    if isinstance(outcome, Rejection):
        return "rejected"
    return "failure"


def _error(outcome: EngineResult | Rejection, stream: StreamReport | None) -> dict[str, Any] | None:
    if isinstance(outcome, Success):
        if stream is None or stream.end is StreamEnd.COMPLETED:
            return None
        return {
            "message": f"the stream ended after the first token: {stream.end.value}",
            "code": stream.end.value,
            "after_content_chunks": stream.content_chunks,
        }
    if isinstance(outcome, Rejection):
        return {"message": outcome.message, "param": outcome.param, "code": outcome.code}
    return {
        "message": outcome.message,
        "code": outcome.code,
        "type": outcome.error_type,
        "provider_error": outcome.provider_error,
    }


def _timeline(attempts: tuple[AttemptRecord, ...]) -> list[dict[str, Any]]:
    """Each attempt plus ``started_at_ms``: when it began, counted from the first attempt.

    Derived from the recorded waits and latencies, so it leaves out the orchestrator's own
    time between attempts (well under a millisecond; see ``orchestrator_overhead_seconds``).
    """
    timeline = []
    elapsed_ms = 0.0
    for index, record in enumerate(attempts):
        entry = record.to_json()
        if index:
            elapsed_ms += record.backoff_ms
        entry["started_at_ms"] = round(elapsed_ms, 3)
        elapsed_ms += record.latency_ms
        timeline.append(entry)
    return timeline


JOURNEY_BASE_BYTES: Final = 1_024
ATTEMPT_BASE_BYTES: Final = 320


def estimated_bytes(journey: Journey) -> int:
    """A journey's memory, roughly: a fixed part plus the texts it holds (error messages
    are what a hostile provider can make long)."""
    outcome = journey.outcome
    size = JOURNEY_BASE_BYTES + len(journey.model or "") + len(journey.request_id)
    if isinstance(outcome, Rejection):
        return size + len(outcome.message)
    if isinstance(outcome, Failure):
        size += len(outcome.message) + 2 * len(str(outcome.provider_error or ""))
    for record in outcome.attempts:
        size += ATTEMPT_BASE_BYTES + len(record.error or "")
    return size


class JourneyStore:
    """The last ``capacity`` journeys by request id, within ``max_bytes`` (estimated);
    the oldest is evicted first."""

    __slots__ = ("_bytes", "_capacity", "_journeys", "_max_bytes", "_sizes")

    def __init__(self, capacity: int, max_bytes: int = 16 * 1024 * 1024) -> None:
        if capacity < 1:
            raise ValueError(f"capacity={capacity!r} must be >= 1")
        self._capacity = capacity
        self._max_bytes = max_bytes
        # A dict keeps insertion order, so its first key is always the oldest journey.
        self._journeys: dict[str, Journey] = {}
        self._sizes: dict[str, int] = {}
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._journeys)

    @property
    def estimated_bytes(self) -> int:
        return self._bytes

    def add(self, journey: Journey) -> None:
        journeys = self._journeys
        self._drop(journey.request_id)
        size = estimated_bytes(journey)
        while journeys and (
            len(journeys) >= self._capacity or self._bytes + size > self._max_bytes
        ):
            self._drop(next(iter(journeys)))
        journeys[journey.request_id] = journey
        self._sizes[journey.request_id] = size
        self._bytes += size

    def _drop(self, request_id: str) -> None:
        if self._journeys.pop(request_id, None) is not None:
            self._bytes -= self._sizes.pop(request_id)

    def get(self, request_id: str) -> Journey | None:
        return self._journeys.get(request_id)

    def record_result(
        self,
        request: RoutedRequest,
        request_id: str,
        result: EngineResult,
        received_at: float,
        caller: str | None = None,
    ) -> None:
        self.add(
            Journey(
                request_id,
                request.model,
                received_at,
                result,
                request.preferred_provider,
                request.fallbacks,
                caller=caller,
            )
        )

    def record_stream_end(self, report: StreamReport) -> None:
        """Add how the stream ended to its journey (recorded when the engine committed)."""
        journey = self._journeys.get(report.request_id)
        if journey is not None:
            self._journeys[report.request_id] = dataclasses.replace(journey, stream=report)
            # A stream report adds a fixed few fields: the estimate stands.

    def record_rejection(
        self, request_id: str, model: str | None, rejection: Rejection, received_at: float
    ) -> None:
        self.add(Journey(request_id, model, received_at, rejection))
