"""Prometheus metrics, in one :class:`CollectorRegistry` per app (never the global one).

:class:`Metrics` is an engine observer: it reads the same :class:`Outcome` values as the
breaker and the logs. It runs on every attempt of every request, so the label children of
each deployment are bound once and cached; a request costs a few dictionary look-ups and
counter increments, never a ``labels()`` call with fresh strings.

Breaker state is not pushed on every change but read at scrape time by a collector: the
OPEN -> HALF_OPEN change happens lazily, when the state is read, so a pushed gauge would go
on saying "open" long after the cool-down ended.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from orchestrator.breaker import BreakerRegistry, BreakerState
from orchestrator.engine import EngineResult, Success
from orchestrator.policy import Decision, Outcome, OutcomeKind
from orchestrator.router import Deployment
from orchestrator.streaming.observer import StreamEnd, StreamReport
from shared.models import ChatRequest

BREAKER_STATE_VALUE: Final = {
    BreakerState.CLOSED: 0.0,
    BreakerState.HALF_OPEN: 1.0,
    BreakerState.OPEN: 2.0,
}
"""``orchestrator_breaker_state``: 0 closed, 1 half-open, 2 open (higher is worse)."""

# Failure codes the engine answers with; anything else (a provider's own rejection code)
# is folded into one label value so a provider cannot grow the series without bound.
KNOWN_FAILURE_CODES: Final = frozenset(
    {
        "upstream_failed",
        "upstream_timeout",
        "upstream_rate_limited",
        "upstream_overloaded",
        "context_length_exceeded",
        "content_policy_violation",
        "deadline_exceeded",
        "all_breakers_open",
        "no_deployment_available",
    }
)
PROVIDER_REJECTED: Final = "provider_rejected"
NO_PROVIDER: Final = "none"
NO_PARAM: Final = "body"

UPSTREAM_LATENCY_BUCKETS_S: Final = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip
OVERHEAD_BUCKETS_S: Final = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
)  # fmt: skip

_INDEX: Final = re.compile(r"\[\d+\]")


def param_label(param: str | None) -> str:
    """``messages[12].role`` -> ``messages[].role``: one series per field, not per index."""
    if param is None:
        return NO_PARAM
    return _INDEX.sub("[]", param)


def outcome_label(result: EngineResult, stream_end: StreamEnd | None = None) -> str:
    """``success``, a failure code, or how a relayed stream broke after its first token."""
    if isinstance(result, Success):
        if stream_end is None or stream_end is StreamEnd.COMPLETED:
            return "success"
        return stream_end.value
    return result.code if result.code in KNOWN_FAILURE_CODES else PROVIDER_REJECTED


class _DeploymentSeries:
    """One deployment's label children, bound once (``labels()`` is the costly part)."""

    __slots__ = ("attempts", "latency")

    def __init__(self, metrics: Metrics, deployment: Deployment) -> None:
        provider, model = deployment.provider.name, deployment.model
        self.attempts = {
            kind: metrics.upstream_attempts.labels(provider, model, kind.value)
            for kind in OutcomeKind
        }
        self.latency = metrics.upstream_latency.labels(provider, model)


class BreakerStateCollector(Collector):
    """Reads every breaker's state at scrape time (see the module docstring for why)."""

    def __init__(self, breakers: BreakerRegistry) -> None:
        self._breakers = breakers

    def collect(self) -> Iterator[Metric]:
        state = GaugeMetricFamily(
            "orchestrator_breaker_state",
            "Circuit breaker state per deployment: 0 closed, 1 half-open, 2 open.",
            labels=["deployment"],
        )
        failures = GaugeMetricFamily(
            "orchestrator_breaker_consecutive_failures",
            "Consecutive provider failures counted by each deployment's breaker.",
            labels=["deployment"],
        )
        for name, breaker in sorted(self._breakers.all().items()):
            state.add_metric([name], BREAKER_STATE_VALUE[breaker.state])
            failures.add_metric([name], breaker.consecutive_failures)
        yield state
        yield failures


class Metrics:
    """Every orchestrator metric; an :class:`~orchestrator.engine.EngineObserver`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.requests = Counter(
            "orchestrator_requests",
            "Requests that reached the engine, by public model, answering provider and outcome.",
            ["model", "provider", "outcome"],
            registry=registry,
        )
        self.request_duration = Histogram(
            "orchestrator_request_duration_seconds",
            "Time the engine spent on a request: every attempt and every wait.",
            ["model"],
            buckets=UPSTREAM_LATENCY_BUCKETS_S,
            registry=registry,
        )
        self.upstream_attempts = Counter(
            "orchestrator_upstream_attempts",
            "Upstream attempts per deployment, by outcome.",
            ["provider", "model", "outcome"],
            registry=registry,
        )
        self.upstream_latency = Histogram(
            "orchestrator_upstream_latency_seconds",
            "Latency of each upstream attempt, per deployment.",
            ["provider", "model"],
            buckets=UPSTREAM_LATENCY_BUCKETS_S,
            registry=registry,
        )
        self.retries = Counter(
            "orchestrator_retries",
            "Waits before another attempt: retry_same (same deployment) or next_round.",
            ["reason"],
            registry=registry,
        )
        self.backoff = Counter(
            "orchestrator_backoff_seconds",
            "Time spent waiting between attempts (backoff and honoured Retry-After).",
            ["reason"],
            registry=registry,
        )
        self.failovers = Counter(
            "orchestrator_failovers",
            "Moves from one deployment to the next within a request.",
            ["from_deployment", "to_deployment"],
            registry=registry,
        )
        self.overhead = Histogram(
            "orchestrator_overhead_seconds",
            "The orchestrator's own time per request: total minus provider calls and waits.",
            buckets=OVERHEAD_BUCKETS_S,
            registry=registry,
        )
        self.breaker_transitions = Counter(
            "orchestrator_breaker_transitions",
            "Circuit breaker state changes per deployment, by the state entered.",
            ["deployment", "to"],
            registry=registry,
        )
        self.validation_rejections = Counter(
            "orchestrator_validation_rejections",
            "Requests rejected before any upstream call, by the field at fault.",
            ["param"],
            registry=registry,
        )
        self.stream_ends = Counter(
            "orchestrator_stream_ends",
            "Relayed streams by how they ended (completed, stream_interrupted, ...).",
            ["provider", "model", "end"],
            registry=registry,
        )
        self.stream_malformed_events = Counter(
            "orchestrator_stream_malformed_events",
            "Upstream stream events that could not be parsed and were skipped.",
            ["provider", "model"],
            registry=registry,
        )
        self.in_flight = Gauge(
            "orchestrator_requests_in_flight",
            "Chat completion requests being served right now.",
            registry=registry,
        )
        self._series: dict[str, _DeploymentSeries] = {}
        self._request_children: dict[tuple[str, str, str], Counter] = {}
        self._duration_children: dict[str, Histogram] = {}
        self._failover_children: dict[tuple[str, str], Counter] = {}
        self._retries_by_reason = {
            reason: (self.retries.labels(reason), self.backoff.labels(reason))
            for reason in ("retry_same", "next_round")
        }

    def watch_breakers(self, breakers: BreakerRegistry) -> None:
        self.registry.register(BreakerStateCollector(breakers))

    def exposition(self) -> bytes:
        """The text format ``GET /metrics`` serves."""
        return generate_latest(self.registry)

    # --- EngineObserver --------------------------------------------------------------------

    def on_attempt(self, deployment: Deployment, outcome: Outcome, decision: Decision) -> None:
        series = self._series.get(deployment.key) or self._bind(deployment)
        series.attempts[outcome.kind].inc()
        series.latency.observe(outcome.latency_s)

    def on_wait(self, deployment: Deployment | None, wait_s: float, reason: str) -> None:
        pair = self._retries_by_reason.get(reason)
        if pair is None:
            pair = (self.retries.labels(reason), self.backoff.labels(reason))
            self._retries_by_reason[reason] = pair
        count, seconds = pair
        count.inc()
        seconds.inc(wait_s)

    def on_failover(self, left: Deployment, to: Deployment) -> None:
        pair = (left.key, to.key)
        child = self._failover_children.get(pair)
        if child is None:
            child = self._failover_children[pair] = self.failovers.labels(*pair)
        child.inc()

    def on_result(
        self,
        request: ChatRequest,
        request_id: str,
        result: EngineResult,
        stream_end: StreamEnd | None = None,
        relay_s: float = 0.0,
    ) -> None:
        """One finished request; for a stream, called at its end with how it ended."""
        if isinstance(result, Success):
            provider = result.deployment.provider.name
        else:
            provider = result.attempts[-1].provider if result.attempts else NO_PROVIDER
        # Label values are bounded: the model passed validation (it is routed), the
        # provider is configured and the outcome is one of a fixed set.
        model = request.model
        key = (model, provider, outcome_label(result, stream_end))
        child = self._request_children.get(key)
        if child is None:
            child = self._request_children[key] = self.requests.labels(*key)
        child.inc()
        duration = self._duration_children.get(model)
        if duration is None:
            duration = self._duration_children[model] = self.request_duration.labels(model)
        duration.observe(result.total_latency_s + relay_s)

    # --- the app's other hooks ---------------------------------------------------------------

    def on_transition(self, name: str, old: BreakerState, new: BreakerState) -> None:
        self.breaker_transitions.labels(name, new.value).inc()

    def on_rejection(self, param: str | None) -> None:
        self.validation_rejections.labels(param_label(param)).inc()

    # --- StreamObserver (streams are rarer than attempts: plain labels() is fine here) ----------

    def on_malformed_event(self, deployment: Deployment, reason: str) -> None:
        self.stream_malformed_events.labels(deployment.provider.name, deployment.model).inc()

    def on_stream_end(self, deployment: Deployment, report: StreamReport) -> None:
        end = report.end.value
        self.stream_ends.labels(deployment.provider.name, deployment.model, end).inc()

    def _bind(self, deployment: Deployment) -> _DeploymentSeries:
        series = _DeploymentSeries(self, deployment)
        self._series[deployment.key] = series
        return series
