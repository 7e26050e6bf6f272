"""Prometheus metrics as the engine, the breakers and validation drive them."""

from __future__ import annotations

import dataclasses
import time

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    enable_created_metrics,
    generate_latest,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from orchestrator.config import ObservabilityConfig
from orchestrator.decision import Action, Decision, OutcomeKind
from orchestrator.engine import Failure, Success
from orchestrator.streaming.observer import StreamEnd, StreamReport
from orchestrator.telemetry.fanout import Telemetry
from orchestrator.telemetry.metrics import UPSTREAM_LATENCY_BUCKETS_S, Metrics, param_label
from shared.models import ChatMessage, ChatRequest
from tests.unit.fakes import FakeClock
from tests.unit.observer_support import (
    ANTHROPIC,
    E400,
    E500,
    OK,
    OPENAI,
    POLICY,
    R429,
    EngineHarness,
    config,
    open_stream,
)


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


async def test_success_counts_the_request_and_its_attempt_for_the_answering_deployment() -> None:
    metrics = Metrics()
    await EngineHarness(metrics).run()
    assert (
        sample(
            metrics,
            "orchestrator_requests_total",
            model="gpt-4",
            provider="openai",
            outcome="success",
        )
        == 1
    )
    assert (
        sample(
            metrics,
            "orchestrator_upstream_attempts_total",
            provider="openai",
            model="gpt-4",
            outcome="success",
        )
        == 1
    )
    assert (
        sample(
            metrics, "orchestrator_upstream_latency_seconds_sum", provider="openai", model="gpt-4"
        )
        == OK.latency_s
    )
    assert sample(metrics, "orchestrator_request_duration_seconds_count", model="gpt-4") == 1


async def test_rate_limit_counts_a_failover_between_the_two_deployments() -> None:
    metrics = Metrics()
    result = await EngineHarness(metrics, {OPENAI: [R429]}).run()
    assert not isinstance(result, Failure)
    assert (
        sample(
            metrics, "orchestrator_failovers_total", from_deployment=OPENAI, to_deployment=ANTHROPIC
        )
        == 1
    )
    assert (
        sample(
            metrics,
            "orchestrator_upstream_attempts_total",
            provider="openai",
            model="gpt-4",
            outcome="rate_limited",
        )
        == 1
    )
    assert (
        sample(
            metrics,
            "orchestrator_requests_total",
            model="gpt-4",
            provider="anthropic",
            outcome="success",
        )
        == 1
    )


async def test_server_error_retry_counts_one_retry_and_its_backoff_seconds() -> None:
    metrics = Metrics()
    await EngineHarness(metrics, {OPENAI: [E500, OK]}).run()
    assert sample(metrics, "orchestrator_retries_total", reason="retry_same") == 1
    # Full jitter with random() = 0.5 on the first retry: 0.5 * base_s (1 s).
    assert sample(metrics, "orchestrator_backoff_seconds_total", reason="retry_same") == 0.5
    assert sample(metrics, "orchestrator_retries_total", reason="next_round") == 0


async def test_exhausted_request_is_labelled_with_its_failure_code_and_last_provider() -> None:
    metrics = Metrics()
    result = await EngineHarness(metrics, {OPENAI: [E500], ANTHROPIC: [E500]}).run()
    assert isinstance(result, Failure)
    assert result.code == "upstream_failed"
    assert (
        sample(
            metrics,
            "orchestrator_requests_total",
            model="gpt-4",
            provider="anthropic",
            outcome="upstream_failed",
        )
        == 1
    )
    assert (
        sample(
            metrics,
            "orchestrator_upstream_attempts_total",
            provider="openai",
            model="gpt-4",
            outcome="server_error",
        )
        == 3
    )


async def test_provider_rejection_codes_fold_into_bounded_outcome_labels() -> None:
    metrics = Metrics()
    await EngineHarness(metrics, {OPENAI: [POLICY]}).run("policy")
    await EngineHarness(metrics, {OPENAI: [E400]}).run("bad")
    outcomes = {
        s.labels["outcome"]
        for family in text_string_to_metric_families(metrics.exposition().decode())
        if family.name == "orchestrator_requests"
        for s in family.samples
        if s.name == "orchestrator_requests_total"
    }
    assert outcomes == {"content_policy_violation", "provider_rejected"}


async def test_breaker_state_gauge_shows_open_then_half_open_once_the_cool_down_passes() -> None:
    metrics = Metrics()
    harness = EngineHarness(
        metrics,
        {OPENAI: [E500]},
        app_config=config(failure_threshold=1, open_duration_s=30.0),
        on_transition=metrics.on_transition,
    )
    metrics.watch_breakers(harness.breakers)
    assert sample(metrics, "orchestrator_breaker_state", deployment=OPENAI) == 0
    await harness.run()
    assert sample(metrics, "orchestrator_breaker_state", deployment=OPENAI) == 2
    assert sample(metrics, "orchestrator_breaker_consecutive_failures", deployment=OPENAI) == 1
    harness.clock.advance(30.0)
    # No request since: the scrape shows the cool-down's end, and being a read it records no
    # transition; the next call through the breaker does.
    assert sample(metrics, "orchestrator_breaker_state", deployment=OPENAI) == 1
    assert (
        sample(metrics, "orchestrator_breaker_transitions_total", deployment=OPENAI, to="open") == 1
    )
    half_open = {"deployment": OPENAI, "to": "half_open"}
    assert sample(metrics, "orchestrator_breaker_transitions_total", **half_open) == 0
    await harness.run()
    assert sample(metrics, "orchestrator_breaker_transitions_total", **half_open) == 1
    assert sample(metrics, "orchestrator_breaker_state", deployment=ANTHROPIC) == 0


def test_validation_rejections_count_one_series_per_field_not_per_index() -> None:
    metrics = Metrics()
    for param in ("messages[0].role", "messages[7].role", "temperature", None):
        metrics.on_rejection(param)
    assert sample(metrics, "orchestrator_validation_rejections_total", param="messages[].role") == 2
    assert sample(metrics, "orchestrator_validation_rejections_total", param="temperature") == 1
    assert sample(metrics, "orchestrator_validation_rejections_total", param="body") == 1


def test_param_label_folds_nested_indices() -> None:
    assert param_label("messages[3].content[12].text") == "messages[].content[].text"


def test_each_metrics_object_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.on_rejection("model")
    assert sample(first, "orchestrator_validation_rejections_total", param="model") == 1
    assert sample(second, "orchestrator_validation_rejections_total", param="model") == 0


def test_exposition_follows_prometheus_naming() -> None:
    metrics = Metrics()
    metrics.on_rejection("model")
    names = {f.name: f.type for f in text_string_to_metric_families(metrics.exposition().decode())}
    assert names["orchestrator_validation_rejections"] == "counter"
    assert names["orchestrator_upstream_latency_seconds"] == "histogram"
    assert names["orchestrator_overhead_seconds"] == "histogram"
    assert names["orchestrator_requests_in_flight"] == "gauge"


async def test_overhead_is_handler_time_minus_provider_time_and_in_flight_returns_to_zero() -> None:
    telemetry = Telemetry(ObservabilityConfig(), wall_clock=lambda: 1_700_000_000.0)
    # One clock for handler and engine: attempts and the backoff move it, as real time would.
    harness = EngineHarness(telemetry, {OPENAI: [E500, OK]})
    clock = harness.clock
    seen_in_flight: list[float] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        seen_in_flight.append(sample(telemetry.metrics, "orchestrator_requests_in_flight"))
        clock.advance(0.002)  # parsing and validation
        await harness.run()
        clock.advance(0.001)  # building the answer
        return web.Response()

    middleware = telemetry.chat_middleware(clock)
    await middleware(make_mocked_request("POST", "/v1/chat/completions"), handler)
    assert seen_in_flight == [1.0]
    assert sample(telemetry.metrics, "orchestrator_requests_in_flight") == 0
    assert sample(telemetry.metrics, "orchestrator_overhead_seconds_count") == 1
    overhead_s = sample(telemetry.metrics, "orchestrator_overhead_seconds_sum")
    assert abs(overhead_s - 0.003) < 1e-9


async def test_overhead_is_not_observed_for_other_paths() -> None:
    telemetry = Telemetry(ObservabilityConfig(), wall_clock=lambda: 0.0)

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response()

    middleware = telemetry.chat_middleware(FakeClock())
    await middleware(make_mocked_request("GET", "/stats"), handler)
    assert sample(telemetry.metrics, "orchestrator_overhead_seconds_count") == 0


def _stream_success(harness: EngineHarness) -> Success:
    deployment = harness.deployment("openai/gpt-4")
    return Success(open_stream(deployment), deployment, (), 0.2)


def _stream_report(end: StreamEnd) -> StreamReport:
    return StreamReport("req_s", end, 3, 0, 1.5, None)


def _telemetry() -> Telemetry:
    return Telemetry(ObservabilityConfig(), wall_clock=lambda: 1_700_000_000.0)


def _stream_past_its_first_token() -> tuple[Telemetry, EngineHarness]:
    """A telemetry that has seen the engine hand over a stream (request id ``req_s``)."""
    telemetry = _telemetry()
    harness = EngineHarness(telemetry.metrics)
    request = ChatRequest("gpt-4", (ChatMessage("user", "hi"),), stream=True)
    telemetry.on_result(request, "req_s", _stream_success(harness))
    return telemetry, harness


def test_a_stream_is_counted_when_it_ends_not_when_it_starts() -> None:
    telemetry, harness = _stream_past_its_first_token()
    metrics = telemetry.metrics
    labels = {"model": "gpt-4", "provider": "openai"}
    assert sample(metrics, "orchestrator_requests_total", outcome="success", **labels) == 0
    telemetry.on_stream_end(harness.deployment("openai/gpt-4"), _stream_report(StreamEnd.COMPLETED))
    assert sample(metrics, "orchestrator_requests_total", outcome="success", **labels) == 1
    assert sample(metrics, "orchestrator_request_duration_seconds_sum", model="gpt-4") == 1.7


def test_a_stream_cut_after_the_first_token_is_not_counted_as_a_success() -> None:
    telemetry, harness = _stream_past_its_first_token()
    metrics = telemetry.metrics
    telemetry.on_stream_end(
        harness.deployment("openai/gpt-4"), _stream_report(StreamEnd.INTERRUPTED)
    )
    labels = {"model": "gpt-4", "provider": "openai"}
    assert sample(metrics, "orchestrator_requests_total", outcome="success", **labels) == 0
    assert (
        sample(metrics, "orchestrator_requests_total", outcome="stream_interrupted", **labels) == 1
    )


# --- the exposition of the plain-number series -------------------------------------------------


def families(registry: CollectorRegistry) -> dict[str, Metric]:
    return {f.name: f for f in text_string_to_metric_families(generate_latest(registry).decode())}


def samples(family: Metric) -> list[tuple[str, dict[str, str], float]]:
    """(name, labels, value) in exposition order; ``_created`` values are timestamps."""
    return [
        (s.name, s.labels, -1.0 if s.name.endswith("_created") else s.value) for s in family.samples
    ]


def buckets(family: Metric, **labels: str) -> dict[str, float]:
    return {
        s.labels["le"]: s.value
        for s in family.samples
        if s.name.endswith("_bucket") and labels.items() <= s.labels.items()
    }


DECISION = Decision(Action.RETURN)  # what the metrics never read

# On a bound (0.005, 60.0), just past one, below the first, past the last, and at zero.
LATENCIES_S = (0.005, 0.0051, 0.001, 0.25, 0.2500001, 59.9, 60.0, 61.0, 0.0, 1e9)


def test_histograms_and_counters_expose_what_prometheus_client_itself_would() -> None:
    metrics = Metrics()
    deployment = EngineHarness(metrics).deployment(OPENAI)
    reference = CollectorRegistry()
    latency = Histogram(
        "orchestrator_upstream_latency_seconds",
        "Latency of each upstream attempt, per deployment.",
        ["provider", "model"],
        buckets=UPSTREAM_LATENCY_BUCKETS_S,
        registry=reference,
    )
    attempts = Counter(
        "orchestrator_upstream_attempts",
        "Upstream attempts per deployment, by outcome.",
        ["provider", "model", "outcome"],
        registry=reference,
    )
    for kind in OutcomeKind:  # Metrics binds every outcome of a deployment at once
        attempts.labels("openai", "gpt-4", kind.value)
    for latency_s in LATENCIES_S:
        metrics.on_attempt(deployment, dataclasses.replace(OK, latency_s=latency_s), DECISION)
        latency.labels("openai", "gpt-4").observe(latency_s)
        attempts.labels("openai", "gpt-4", "success").inc()
    ours, theirs = families(metrics.registry), families(reference)
    for family in ("orchestrator_upstream_latency_seconds", "orchestrator_upstream_attempts"):
        for name in (family, f"{family}_created"):
            assert samples(ours[name]) == samples(theirs[name])
            assert ours[name].documentation == theirs[name].documentation
            assert ours[name].type == theirs[name].type


async def test_a_known_sequence_gives_known_counts_sums_and_cumulative_buckets() -> None:
    before = time.time()
    metrics = Metrics()
    # 500 (0.1 s), backoff 0.5 s, then 200 (0.25 s) from the same deployment.
    await EngineHarness(metrics, {OPENAI: [E500, OK]}).run()
    after = time.time()
    parsed = families(metrics.registry)

    latency = parsed["orchestrator_upstream_latency_seconds"]
    openai = {"provider": "openai", "model": "gpt-4"}
    assert buckets(latency, **openai) == {
        "0.005": 0, "0.01": 0, "0.025": 0, "0.05": 0, "0.1": 1, "0.25": 2, "0.5": 2,
        "1.0": 2, "2.5": 2, "5.0": 2, "10.0": 2, "30.0": 2, "60.0": 2, "+Inf": 2,
    }  # fmt: skip
    assert sample(metrics, "orchestrator_upstream_latency_seconds_count", **openai) == 2
    assert sample(metrics, "orchestrator_upstream_latency_seconds_sum", **openai) == 0.35

    duration = parsed["orchestrator_request_duration_seconds"]
    assert buckets(duration, model="gpt-4")["0.5"] == 0
    assert buckets(duration, model="gpt-4")["1.0"] == 1
    duration_s = sample(metrics, "orchestrator_request_duration_seconds_sum", model="gpt-4")
    assert duration_s == pytest.approx(0.85)  # a difference of fake clock readings

    attempts = {
        s.labels["outcome"]: s.value
        for s in parsed["orchestrator_upstream_attempts"].samples
        if s.name == "orchestrator_upstream_attempts_total"
    }
    assert attempts == {kind.value: 0 for kind in OutcomeKind} | {
        "server_error": 1,
        "success": 1,
    }
    assert sample(metrics, "orchestrator_retries_total", reason="next_round") == 0
    assert sample(metrics, "orchestrator_backoff_seconds_total", reason="retry_same") == 0.5

    # Every counter and histogram series says when it was bound; the gauge does not.
    created = [s for f in parsed.values() for s in f.samples if s.name.endswith("_created")]
    # attempts (every outcome), latency, requests, duration, retries and backoff (both
    # reasons, bound up front), overhead (unlabelled, bound up front)
    assert len(created) == len(OutcomeKind) + 1 + 1 + 1 + 2 + 2 + 1
    assert all(before <= s.value <= after for s in created)
    assert "orchestrator_requests_in_flight_created" not in {s.name for s in created}


def test_families_are_exposed_in_a_fixed_order_even_before_any_request() -> None:
    exposition = Metrics().exposition().decode()
    # The text format puts the ``_created`` samples of a family in a gauge family of their own.
    names = [
        f.name
        for f in text_string_to_metric_families(exposition)
        if not f.name.endswith("_created")
    ]
    assert names == [
        "orchestrator_requests",
        "orchestrator_request_duration_seconds",
        "orchestrator_upstream_attempts",
        "orchestrator_upstream_latency_seconds",
        "orchestrator_retries",
        "orchestrator_backoff_seconds",
        "orchestrator_failovers",
        "orchestrator_overhead_seconds",
        "orchestrator_breaker_transitions",
        "orchestrator_validation_rejections",
        "orchestrator_stream_ends",
        "orchestrator_stream_malformed_events",
        "orchestrator_requests_in_flight",
        "orchestrator_caller_requests",
        "orchestrator_slow_calls",
        "orchestrator_route_choices",
        "orchestrator_breaker_probes",
        "orchestrator_retry_budget_refusals",
        "orchestrator_hedges",
    ]


def test_created_samples_follow_prometheus_clients_switch() -> None:
    metrics = Metrics()
    metrics.on_rejection("model")
    disable_created_metrics()  # type: ignore[no-untyped-call]
    try:
        exposition = metrics.exposition().decode()
    finally:
        enable_created_metrics()  # type: ignore[no-untyped-call]
    assert "_created" not in exposition
    assert "orchestrator_validation_rejections_created" in metrics.exposition().decode()


def test_the_registry_refuses_a_second_metric_with_a_taken_name() -> None:
    metrics = Metrics()
    with pytest.raises(ValueError, match="orchestrator_requests"):
        Counter("orchestrator_requests", "again", registry=metrics.registry)


async def test_slow_calls_are_counted_per_deployment() -> None:
    metrics = Metrics()
    base = config()
    slow = dataclasses.replace(base.providers["openai"], slow_call_duration_s=0.1)
    harness = EngineHarness(
        metrics, app_config=dataclasses.replace(base, providers={**base.providers, "openai": slow})
    )
    await harness.run()  # OK takes 0.25 s: slower than 0.1
    assert sample(metrics, "orchestrator_slow_calls_total", deployment=OPENAI) == 1
    assert sample(metrics, "orchestrator_slow_calls_total", deployment=ANTHROPIC) == 0
