"""Totals, recent windows and percentiles behind /stats and /v1/providers."""

from __future__ import annotations

import pytest

from orchestrator.config import ObservabilityConfig
from orchestrator.engine import Success
from orchestrator.streaming.observer import StreamEnd, StreamReport
from orchestrator.telemetry.fanout import Telemetry
from orchestrator.telemetry.stats import RecentOutcomes, Stats, latency_summary_ms, percentile
from shared.models import ChatMessage, ChatRequest
from tests.unit.observer_support import (
    ANTHROPIC,
    E400,
    E500,
    OK,
    OPENAI,
    R429,
    EngineHarness,
    open_stream,
)


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.95) == 95.0
    assert percentile([7.0], 0.95) == 7.0
    assert percentile([], 0.5) is None


def test_latency_summary_sorts_before_ranking_and_reports_milliseconds() -> None:
    assert latency_summary_ms([0.3, 0.1, 0.2]) == {"p50": 200.0, "p95": 300.0}
    assert latency_summary_ms([]) == {"p50": None, "p95": None}


def test_recent_outcomes_forget_the_oldest_beyond_the_window() -> None:
    window = RecentOutcomes(size=4)
    for ok in (False, False, True, True):
        window.record(ok, 0.1)
    assert window.summary()["success_rate"] == 0.5
    window.record(True, 0.1)
    window.record(True, 0.1)  # both failures have now fallen out
    assert window.summary()["success_rate"] == 1.0
    assert window.summary()["attempts"] == 4


def test_empty_window_has_no_rate_rather_than_a_made_up_one() -> None:
    assert RecentOutcomes(size=3).summary() == {
        "attempts": 0,
        "success_rate": None,
        "latency_ms": {"p50": None, "p95": None},
    }


async def test_totals_count_requests_retries_failovers_and_provider_outcomes() -> None:
    stats = Stats(window_size=10)
    harness = EngineHarness(stats, {OPENAI: [E500, R429, OK]})
    await harness.run("one")  # openai 500, openai 429, failover, anthropic ok
    await harness.run("two")  # openai ok
    stats.on_rejection()
    body = stats.to_json()
    assert body["requests"] == {"total": 3, "succeeded": 2, "failed": 0, "rejected": 1}
    assert body["success_rate"] == 1.0
    assert (body["attempts"], body["retries"], body["failovers"]) == (4, 2, 1)
    assert body["providers"] == {
        "anthropic": {"successes": 1, "failures": 0, "client_errors": 0},
        "openai": {"successes": 1, "failures": 2, "client_errors": 0},
    }
    assert body["latency_ms"]["window"] == 2


async def test_success_rate_counts_failed_requests_but_not_rejected_ones() -> None:
    stats = Stats(window_size=10)
    await EngineHarness(stats, {OPENAI: [E500], ANTHROPIC: [E500]}).run("down")
    await EngineHarness(stats).run("up")
    stats.on_rejection()
    assert stats.to_json()["success_rate"] == 0.5


async def test_client_errors_leave_a_deployments_success_rate_alone() -> None:
    stats = Stats(window_size=10)
    await EngineHarness(stats, {OPENAI: [E400]}).run()
    await EngineHarness(stats).run()
    recent = stats.recent(OPENAI).summary()
    assert recent["attempts"] == 1
    assert recent["success_rate"] == 1.0
    assert recent["latency_ms"]["p50"] == pytest.approx(OK.latency_s * 1000.0)
    assert stats.to_json()["providers"]["openai"]["client_errors"] == 1


def test_window_size_below_one_is_refused_with_the_value() -> None:
    with pytest.raises(ValueError, match="window_size=0"):
        Stats(window_size=0)


def test_a_stream_that_breaks_after_its_first_token_counts_as_failed() -> None:
    telemetry = Telemetry(ObservabilityConfig(), wall_clock=lambda: 0.0)
    harness = EngineHarness(telemetry)
    deployment = harness.deployment(OPENAI)
    request = ChatRequest("gpt-4", (ChatMessage("user", "hi"),), stream=True)
    for request_id, end in (("req_cut", StreamEnd.INTERRUPTED), ("req_ok", StreamEnd.COMPLETED)):
        opened = Success(open_stream(deployment), deployment, (), 0.2)
        telemetry.on_result(request, request_id, opened)
        telemetry.on_stream_end(deployment, StreamReport(request_id, end, 3, 0, 1.0, None))
    requests = telemetry.stats.to_json()["requests"]
    assert (requests["succeeded"], requests["failed"]) == (1, 1)
