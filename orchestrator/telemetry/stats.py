"""Running totals and recent windows behind ``GET /stats`` and ``GET /v1/providers``.

Totals count since start-up. Rates and latency percentiles describe a bounded window of
the most recent outcomes (``observability.latency_window_size``), so memory stays fixed
and the figures say how things are now, not how they were an hour ago. Recording is O(1)
per attempt; percentiles are computed only when read.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.decision import (
    NOT_SERVED_BY_FAULT_OF_THE_REQUEST,
    Decision,
    Outcome,
    OutcomeKind,
)
from orchestrator.engine import EngineResult, Success
from orchestrator.requests import RoutedRequest
from orchestrator.routing.router import Deployment, RoutePlan
from orchestrator.streaming.observer import PROVIDER_FAILURES, StreamEnd


def percentile(sorted_values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile: the smallest value with ``fraction`` of the values <= it."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def latency_summary_ms(latencies_s: Sequence[float]) -> dict[str, float | None]:
    ordered = sorted(latencies_s)
    return {name: _ms(percentile(ordered, q)) for name, q in (("p50", 0.5), ("p95", 0.95))}


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000.0, 3)


class RecentOutcomes:
    """The last ``size`` outcomes that say something about a provider's health.

    Client errors (400, content policy, context length) are the caller's fault, so they
    are left out: they neither lower nor raise the success rate, as with the breaker.
    """

    __slots__ = ("_failures", "_outcomes")

    def __init__(self, size: int) -> None:
        self._outcomes: deque[tuple[bool, float]] = deque(maxlen=size)
        self._failures = 0

    def record(self, ok: bool, latency_s: float) -> None:
        outcomes = self._outcomes
        if len(outcomes) == outcomes.maxlen and not outcomes[0][0]:
            self._failures -= 1  # the oldest failure is about to fall out of the window
        outcomes.append((ok, latency_s))
        self._failures += not ok

    def summary(self) -> dict[str, Any]:
        calls = len(self._outcomes)
        return {
            "attempts": calls,
            "success_rate": round((calls - self._failures) / calls, 4) if calls else None,
            "latency_ms": latency_summary_ms([latency for _, latency in self._outcomes]),
        }


@dataclass(slots=True)
class ProviderCounts:
    successes: int = 0
    failures: int = 0  # provider failures: what trips a breaker
    client_errors: int = 0  # the request's fault: what leaves a breaker alone

    def to_json(self) -> dict[str, int]:
        return {
            "successes": self.successes,
            "failures": self.failures,
            "client_errors": self.client_errors,
        }


class Stats:
    """Totals and recent windows; an :class:`~orchestrator.engine.EngineObserver`."""

    def __init__(self, window_size: int) -> None:
        if window_size < 1:
            raise ValueError(f"window_size={window_size!r} must be >= 1")
        self._window_size = window_size
        self.requests = 0
        self.succeeded = 0
        self.failed = 0
        self.rejected = 0
        self.attempts = 0
        self.retries = 0
        self.failovers = 0
        self._latencies_s: deque[float] = deque(maxlen=window_size)
        self._providers: dict[str, ProviderCounts] = {}
        self._deployments: dict[str, RecentOutcomes] = {}

    def on_attempt(self, deployment: Deployment, outcome: Outcome, decision: Decision) -> None:
        self.attempts += 1
        counts = self._providers.get(deployment.provider.name)
        if counts is None:
            counts = self._providers[deployment.provider.name] = ProviderCounts()
        if outcome.kind is OutcomeKind.SUCCESS:
            counts.successes += 1
        elif outcome.kind in NOT_SERVED_BY_FAULT_OF_THE_REQUEST:
            counts.client_errors += 1
            return
        else:
            counts.failures += 1
        self.recent(deployment.key).record(outcome.kind is OutcomeKind.SUCCESS, outcome.latency_s)

    def on_wait(self, deployment: Deployment | None, wait_s: float, reason: str) -> None:
        pass  # waits show in the request latencies; /metrics counts them

    def on_failover(self, left: Deployment, to: Deployment) -> None:
        self.failovers += 1

    def on_route(self, model: str, plan: RoutePlan) -> None:
        pass  # the route choices are counted by the metrics

    def on_probe(self, deployment: Deployment, kind: str) -> None:
        pass  # probes are counted by the metrics

    def on_budget_refusal(self, deployment: Deployment) -> None:
        pass  # so are retries the budget refused

    def on_hedge(self, primary: Deployment, hedge: Deployment, winner: str) -> None:
        pass  # and hedges

    def on_result(
        self,
        request: RoutedRequest,
        request_id: str,
        result: EngineResult,
        stream_end: StreamEnd | None = None,
        relay_s: float = 0.0,
    ) -> None:
        """One finished request; for a stream, called at its end with how it ended."""
        self.requests += 1
        if isinstance(result, Success) and stream_end not in PROVIDER_FAILURES:
            self.succeeded += 1
        else:
            self.failed += 1
        self.retries += max(0, len(result.attempts) - 1)
        self._latencies_s.append(result.total_latency_s + relay_s)

    def on_rejection(self) -> None:
        self.rejected += 1

    def recent(self, deployment_key: str) -> RecentOutcomes:
        window = self._deployments.get(deployment_key)
        if window is None:
            window = self._deployments[deployment_key] = RecentOutcomes(self._window_size)
        return window

    def to_json(self) -> dict[str, Any]:
        finished = self.succeeded + self.failed
        return {
            "requests": {
                "total": self.requests + self.rejected,
                "succeeded": self.succeeded,
                "failed": self.failed,
                "rejected": self.rejected,
            },
            # Of the requests that reached a provider plan; rejections are the caller's error.
            "success_rate": round(self.succeeded / finished, 4) if finished else None,
            "latency_ms": {
                **latency_summary_ms(self._latencies_s),
                "window": len(self._latencies_s),
            },
            "attempts": self.attempts,
            "retries": self.retries,
            "failovers": self.failovers,
            "providers": {
                name: counts.to_json() for name, counts in sorted(self._providers.items())
            },
        }
