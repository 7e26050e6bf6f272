"""The one observer the app wires in: engine, breaker and validation events fanned out to
metrics, stats, journeys and the breaker log.

It also measures the orchestrator's own overhead per chat request: the time the handler
took minus what the engine spent waiting on providers and backing off. The handler's
clock and the engine's result meet through a context variable holding a small per-request
:class:`RequestTiming`, the way the request id reaches every log line.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Final

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from orchestrator.breaker import BreakerState
from orchestrator.config import ObservabilityConfig
from orchestrator.decision import Decision, Outcome
from orchestrator.engine import EngineResult, Success
from orchestrator.http.validation import ValidationError
from orchestrator.requests import RoutedRequest
from orchestrator.routing.router import Deployment, RoutePlan
from orchestrator.streaming.observer import StreamReport
from orchestrator.telemetry.journeys import JourneyStore, Rejection
from orchestrator.telemetry.logs import CALLER
from orchestrator.telemetry.metrics import Metrics
from orchestrator.telemetry.stats import Stats

BREAKER_LOGGER: Final = "orchestrator.breaker"
ENGINE_PATHS: Final = frozenset({"/v1/chat/completions", "/v1/messages", "/v1/embeddings"})
"""The caller APIs whose requests go through the engine."""

_breaker_log: Final = logging.getLogger(BREAKER_LOGGER)
_TRANSITION_EVENT: Final = {
    BreakerState.OPEN: "breaker_opened",
    BreakerState.HALF_OPEN: "breaker_half_open",
    BreakerState.CLOSED: "breaker_closed",
    BreakerState.FORCED_OPEN: "breaker_forced_open",
}


MAX_OPEN_STREAMS: Final = 100_000
"""A bound on streams awaiting their end report, should a report ever be lost."""


@dataclass(slots=True)
class RequestTiming:
    """Filled by the engine's result: seconds spent in provider calls and waits."""

    upstream_s: float | None = None


_TIMING: Final[ContextVar[RequestTiming | None]] = ContextVar("request_timing", default=None)


def upstream_seconds(result: EngineResult) -> float:
    return sum(a.latency_ms + a.backoff_ms for a in result.attempts) / 1000.0


class Telemetry:
    """Engine and stream observer, plus the breaker and validation hooks."""

    def __init__(self, config: ObservabilityConfig, wall_clock: Callable[[], float]) -> None:
        self.metrics = Metrics()
        self.stats = Stats(config.latency_window_size)
        self.journeys = JourneyStore(config.journeys_max, config.journeys_max_bytes)
        # request id -> the engine's result, for streams between their first token and end
        self._open_streams: dict[str, tuple[RoutedRequest, Success]] = {}
        self._wall_clock = wall_clock

    def on_attempt(self, deployment: Deployment, outcome: Outcome, decision: Decision) -> None:
        self.metrics.on_attempt(deployment, outcome, decision)
        self.stats.on_attempt(deployment, outcome, decision)

    def on_wait(self, deployment: Deployment | None, wait_s: float, reason: str) -> None:
        self.metrics.on_wait(deployment, wait_s, reason)

    def on_failover(self, left: Deployment, to: Deployment) -> None:
        self.metrics.on_failover(left, to)
        self.stats.on_failover(left, to)

    def on_route(self, model: str, plan: RoutePlan) -> None:
        self.metrics.on_route(model, plan)

    def on_probe(self, deployment: Deployment, kind: str) -> None:
        self.metrics.on_probe(deployment, kind)

    def on_budget_refusal(self, deployment: Deployment) -> None:
        self.metrics.on_budget_refusal(deployment)

    def on_hedge(self, primary: Deployment, hedge: Deployment, winner: str) -> None:
        self.metrics.on_hedge(primary, hedge, winner)

    def on_result(self, request: RoutedRequest, request_id: str, result: EngineResult) -> None:
        if isinstance(result, Success) and result.stream is not None:
            # A stream's outcome is known only at its end (on_stream_end): a cut after the
            # first token must not be counted as a success.
            self._open_streams[request_id] = (request, result)
            while len(self._open_streams) > MAX_OPEN_STREAMS:
                del self._open_streams[next(iter(self._open_streams))]
        else:
            self.metrics.on_result(request, request_id, result)
            self.stats.on_result(request, request_id, result)
        received_at = self._wall_clock() - result.total_latency_s
        caller = CALLER.get()
        self.journeys.record_result(request, request_id, result, received_at, caller)
        if caller is not None:
            self.metrics.on_caller(caller)
        timing = _TIMING.get()
        if timing is not None:
            timing.upstream_s = upstream_seconds(result)

    def on_transition(self, name: str, old: BreakerState, new: BreakerState) -> None:
        """The breaker registry's listener: one log line and the transition counter."""
        event = _TRANSITION_EVENT[new]
        _breaker_log.warning(
            event, extra={"event": event, "deployment": name, "from": str(old), "to": str(new)}
        )
        self.metrics.on_transition(name, old, new)

    def on_malformed_event(self, deployment: Deployment, reason: str) -> None:
        self.metrics.on_malformed_event(deployment, reason)

    def on_stream_end(self, deployment: Deployment, report: StreamReport) -> None:
        """A relayed stream ended: count it, note it in the journey, and time it as upstream."""
        self.metrics.on_stream_end(deployment, report)
        opened = self._open_streams.pop(report.request_id, None)
        if opened is not None:
            request, result = opened
            end, relay_s = report.end, report.relay_duration_s
            self.metrics.on_result(request, report.request_id, result, end, relay_s)
            self.stats.on_result(request, report.request_id, result, end, relay_s)
        self.journeys.record_stream_end(report)
        timing = _TIMING.get()
        if timing is not None and timing.upstream_s is not None:
            # After the commit point the handler waits on the provider's tokens: not overhead.
            timing.upstream_s += report.relay_duration_s

    def on_client_disconnect(self, request: RoutedRequest) -> None:
        """The caller left before any answer (a plain request): counted as such."""
        self.metrics.on_client_disconnect(request)

    def on_rejection(self, request_id: str, error: ValidationError) -> None:
        self.metrics.on_rejection(error.param)
        self.stats.on_rejection()
        rejection = Rejection(error.status, error.message, error.param, error.code)
        self.journeys.record_rejection(request_id, None, rejection, self._wall_clock())

    def chat_middleware(self, clock: Callable[[], float]) -> Middleware:
        """In-flight gauge and overhead histogram around the chat-completions handler."""
        in_flight = self.metrics.in_flight
        overhead = self.metrics.overhead

        @web.middleware
        async def observe_chat(request: web.Request, handler: Handler) -> web.StreamResponse:
            if request.path not in ENGINE_PATHS:
                return await handler(request)
            timing = RequestTiming()
            token = _TIMING.set(timing)
            in_flight.inc()
            started = clock()
            try:
                return await handler(request)
            finally:
                in_flight.dec()
                _TIMING.reset(token)
                if timing.upstream_s is not None:
                    overhead.observe(max(0.0, clock() - started - timing.upstream_s))

        return observe_chat
