"""Prometheus metrics, in one :class:`CollectorRegistry` per app (never the global one).

:class:`Metrics` is an engine observer: it reads the same :class:`Outcome` values as the
breaker and the logs. It runs on every attempt of every request, so it does not record into
prometheus_client's ``Counter`` and ``Histogram``: each of their operations takes a mutex
and costs thousands of instructions. Every series is instead a small slot object holding
plain numbers (:class:`CounterSeries`, :class:`HistogramSeries`), bound once per deployment
or label set and cached; a counter is one addition, a histogram observation a ``bisect``
into the bucket bounds and two additions. :class:`SeriesCollector` turns them into metric
families at scrape time, with the names, help, labels, buckets and ``_created`` samples that
prometheus_client's own metrics would expose.

No locks: the app is single-threaded asyncio. Every update runs on the event loop's thread
with no ``await`` inside it, and the scrape (``GET /metrics``) runs on that same thread, so
an update is never interleaved with another one or with a scrape.

Breaker state is not pushed on every change but read at scrape time by a collector: the
OPEN -> HALF_OPEN change is recorded only at the next call through the breaker, so a
pushed gauge would go on saying "open" long after the cool-down ended.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    GaugeMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from orchestrator.breaker import BreakerRegistry, BreakerState
from orchestrator.decision import Decision, Outcome, OutcomeKind
from orchestrator.engine import EngineResult, Success
from orchestrator.requests import RoutedRequest
from orchestrator.routing.router import Deployment, RoutePlan
from orchestrator.streaming.observer import StreamEnd, StreamReport
from orchestrator.telemetry.series import (
    CounterFamily,
    GaugeSeries,
    HistogramFamily,
    HistogramSeries,
    SeriesCollector,
)

BREAKER_STATE_VALUE: Final = {
    BreakerState.CLOSED: 0.0,
    BreakerState.HALF_OPEN: 1.0,
    BreakerState.OPEN: 2.0,
    BreakerState.FORCED_OPEN: 3.0,
}
"""``orchestrator_breaker_state``: 0 closed, 1 half-open, 2 open, 3 forced open (drained)."""

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
    """One deployment's series, bound once so an attempt costs a look-up and additions."""

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
            "Circuit breaker state per deployment: 0 closed, 1 half-open, 2 open, 3 forced open.",
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
        self.requests = CounterFamily(
            "orchestrator_requests",
            "Requests that reached the engine, by public model, answering provider and outcome.",
            ["model", "provider", "outcome"],
        )
        self.route_choices = CounterFamily(
            "orchestrator_route_choices",
            "Plans a route strategy ordered, by model, strategy and the deployment put first.",
            ["model", "strategy", "first"],
        )
        self.probes = CounterFamily(
            "orchestrator_breaker_probes",
            "Probes of open deployments: early (a request every deployment refused) or "
            "background (the orchestrator's own), per deployment.",
            ["deployment", "kind"],
        )
        self.budget_refusals = CounterFamily(
            "orchestrator_retry_budget_refusals",
            "Retries the retry budget kept off a deployment (the request went elsewhere).",
            ["deployment"],
        )
        self.hedges = CounterFamily(
            "orchestrator_hedges",
            "Hedged first attempts, by primary and hedge deployment and who answered first "
            "(primary, hedge or neither).",
            ["primary", "hedge", "winner"],
        )
        self.slow_calls = CounterFamily(
            "orchestrator_slow_calls",
            "Attempts slower than their provider's slow_call_duration_s, per deployment.",
            ["deployment"],
        )
        self.caller_requests = CounterFamily(
            "orchestrator_caller_requests",
            "Requests that reached the engine, by the name of the caller key they came with.",
            ["caller"],
        )
        self.request_duration = HistogramFamily(
            "orchestrator_request_duration_seconds",
            "Time the engine spent on a request: every attempt and every wait.",
            ["model"],
            UPSTREAM_LATENCY_BUCKETS_S,
        )
        self.upstream_attempts = CounterFamily(
            "orchestrator_upstream_attempts",
            "Upstream attempts per deployment, by outcome.",
            ["provider", "model", "outcome"],
        )
        self.upstream_latency = HistogramFamily(
            "orchestrator_upstream_latency_seconds",
            "Latency of each upstream attempt, per deployment.",
            ["provider", "model"],
            UPSTREAM_LATENCY_BUCKETS_S,
        )
        self.retries = CounterFamily(
            "orchestrator_retries",
            "Waits before another attempt: retry_same (same deployment) or next_round.",
            ["reason"],
        )
        self.backoff = CounterFamily(
            "orchestrator_backoff_seconds",
            "Time spent waiting between attempts (backoff and honoured Retry-After).",
            ["reason"],
        )
        self.failovers = CounterFamily(
            "orchestrator_failovers",
            "Moves from one deployment to the next within a request.",
            ["from_deployment", "to_deployment"],
        )
        overhead = HistogramFamily(
            "orchestrator_overhead_seconds",
            "The orchestrator's own time per request: total minus provider calls and waits.",
            [],
            OVERHEAD_BUCKETS_S,
        )
        self.overhead = overhead.labels()
        self.breaker_transitions = CounterFamily(
            "orchestrator_breaker_transitions",
            "Circuit breaker state changes per deployment, by the state entered.",
            ["deployment", "to"],
        )
        self.validation_rejections = CounterFamily(
            "orchestrator_validation_rejections",
            "Requests rejected before any upstream call, by the field at fault.",
            ["param"],
        )
        self.stream_ends = CounterFamily(
            "orchestrator_stream_ends",
            "Relayed streams by how they ended (completed, stream_interrupted, ...).",
            ["provider", "model", "end"],
        )
        self.stream_malformed_events = CounterFamily(
            "orchestrator_stream_malformed_events",
            "Upstream stream events that could not be parsed and were skipped.",
            ["provider", "model"],
        )
        self.in_flight = GaugeSeries(
            "orchestrator_requests_in_flight",
            "Chat completion requests being served right now.",
        )
        self.registry.register(
            SeriesCollector(
                (
                    self.requests,
                    self.request_duration,
                    self.upstream_attempts,
                    self.upstream_latency,
                    self.retries,
                    self.backoff,
                    self.failovers,
                    overhead,
                    self.breaker_transitions,
                    self.validation_rejections,
                    self.stream_ends,
                    self.stream_malformed_events,
                    self.in_flight,
                    self.caller_requests,
                    self.slow_calls,
                    self.route_choices,
                    self.probes,
                    self.budget_refusals,
                    self.hedges,
                )
            )
        )
        self._series: dict[str, _DeploymentSeries] = {}
        # The requests family's own series, keyed by (model, provider, outcome).
        self._request_counts = self.requests.series
        self._durations: dict[str, HistogramSeries] = {}
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
        series.attempts[outcome.kind].value += 1
        series.latency.observe(outcome.latency_s)
        if deployment.is_slow(outcome.latency_s):
            self.slow_calls.labels(deployment.key).value += 1

    def on_wait(self, deployment: Deployment | None, wait_s: float, reason: str) -> None:
        pair = self._retries_by_reason.get(reason)
        if pair is None:
            pair = (self.retries.labels(reason), self.backoff.labels(reason))
            self._retries_by_reason[reason] = pair
        count, seconds = pair
        count.value += 1
        seconds.value += wait_s

    def on_failover(self, left: Deployment, to: Deployment) -> None:
        self.failovers.labels(left.key, to.key).value += 1

    def on_probe(self, deployment: Deployment, kind: str) -> None:
        self.probes.labels(deployment.key, kind).value += 1

    def on_budget_refusal(self, deployment: Deployment) -> None:
        self.budget_refusals.labels(deployment.key).value += 1

    def on_hedge(self, primary: Deployment, hedge: Deployment, winner: str) -> None:
        self.hedges.labels(primary.key, hedge.key, winner).value += 1

    def on_route(self, model: str, plan: RoutePlan) -> None:
        first = plan.deployments[0].key if plan.deployments else NO_PROVIDER
        self.route_choices.labels(model, plan.strategy, first).value += 1

    def on_result(
        self,
        request: RoutedRequest,
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
        count = self._request_counts.get(key) or self.requests.labels(*key)
        count.value += 1
        duration = self._durations.get(model)
        if duration is None:
            duration = self._durations[model] = self.request_duration.labels(model)
        duration.observe(result.total_latency_s + relay_s)

    def on_caller(self, caller: str) -> None:
        """One request by the named caller key (names are configured: a bounded label)."""
        self.caller_requests.labels(caller).value += 1

    def on_client_disconnect(self, request: RoutedRequest) -> None:
        key = (request.model, NO_PROVIDER, StreamEnd.CLIENT_DISCONNECTED.value)
        count = self._request_counts.get(key) or self.requests.labels(*key)
        count.value += 1

    # --- the app's other hooks ---------------------------------------------------------------

    def on_transition(self, name: str, old: BreakerState, new: BreakerState) -> None:
        self.breaker_transitions.labels(name, new.value).value += 1

    def on_rejection(self, param: str | None) -> None:
        self.validation_rejections.labels(param_label(param)).value += 1

    # --- StreamObserver (streams are rarer than attempts: plain labels() is fine here) ----------

    def on_malformed_event(self, deployment: Deployment, reason: str) -> None:
        self.stream_malformed_events.labels(deployment.provider.name, deployment.model).value += 1

    def on_stream_end(self, deployment: Deployment, report: StreamReport) -> None:
        end = report.end.value
        self.stream_ends.labels(deployment.provider.name, deployment.model, end).value += 1

    def _bind(self, deployment: Deployment) -> _DeploymentSeries:
        series = _DeploymentSeries(self, deployment)
        self._series[deployment.key] = series
        return series
