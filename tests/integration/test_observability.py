"""Metrics, journeys, stats, models and readiness as the five scenarios drive them (real HTTP)."""

from __future__ import annotations

import openai

from tests.integration.observability_support import (
    ANTHROPIC_SONNET,
    OPENAI_GPT4,
    get_json,
    scrape,
)
from tests.scenarios import five
from tests.scenarios.target import Target, chat_body

ATTEMPTS = "orchestrator_upstream_attempts_total"
REQUESTS = "orchestrator_requests_total"


async def test_metrics_move_with_happy_timeout_rate_limit_and_validation_scenarios(
    target: Target,
) -> None:
    http, url = target.http, target.orchestrator_url

    await five.happy_path(target)
    m = await scrape(http, url)
    assert m.value(REQUESTS, model="gpt-4", provider="openai", outcome="success") == 1
    assert m.value(ATTEMPTS, provider="openai", model="gpt-4", outcome="success") == 1
    latency = "orchestrator_upstream_latency_seconds_count"
    assert m.value(latency, provider="openai", model="gpt-4") == 1
    assert m.value("orchestrator_overhead_seconds_count") == 1
    assert m.value("orchestrator_requests_in_flight") == 0

    await target.reset_mock()
    await five.timeout_then_retry(target)
    m = await scrape(http, url)
    assert m.value(ATTEMPTS, provider="openai", model="gpt-4", outcome="timeout") == 1
    sonnet = ANTHROPIC_SONNET.split("/", 1)[1]
    assert m.value(ATTEMPTS, provider="anthropic", model=sonnet, outcome="timeout") == 1
    failovers = "orchestrator_failovers_total"
    assert m.value(failovers, from_deployment=OPENAI_GPT4, to_deployment=ANTHROPIC_SONNET) == 1
    assert m.value("orchestrator_retries_total", reason="next_round") == 1
    assert m.value("orchestrator_backoff_seconds_total", reason="next_round") > 0
    assert m.value(latency, provider="anthropic", model=sonnet) == 1

    await target.reset_mock()
    await five.rate_limit_failover(target)
    m = await scrape(http, url)
    assert m.value(ATTEMPTS, provider="openai", model="gpt-4", outcome="rate_limited") == 1
    assert m.value(REQUESTS, model="gpt-4", provider="anthropic", outcome="success") == 1
    assert m.value(failovers, from_deployment=OPENAI_GPT4, to_deployment=ANTHROPIC_SONNET) == 2

    await target.reset_mock()
    await five.validation_rejects_without_upstream_calls(target)
    m = await scrape(http, url)
    rejections = "orchestrator_validation_rejections_total"
    assert m.value(rejections, param="messages[].role") == 1
    assert m.total(REQUESTS) == 3  # a rejected request never reaches the engine
    assert m.value("orchestrator_overhead_seconds_count") == 3
    assert m.value("orchestrator_requests_in_flight") == 0


async def test_breaker_gauge_and_transitions_follow_the_circuit_breaker_scenario(
    target: Target,
) -> None:
    await five.circuit_breaker(target)
    m = await scrape(target.http, target.orchestrator_url)
    transitions = "orchestrator_breaker_transitions_total"
    assert m.value(transitions, deployment=OPENAI_GPT4, to="open") == 2
    assert m.value(transitions, deployment=OPENAI_GPT4, to="half_open") == 2
    assert m.value(transitions, deployment=OPENAI_GPT4, to="closed") == 1
    assert m.value("orchestrator_breaker_state", deployment=OPENAI_GPT4) == 0
    assert m.value("orchestrator_breaker_state", deployment=ANTHROPIC_SONNET) == 0
    failures = target.failure_threshold + 2  # the threshold, then two failed probes
    assert m.value(ATTEMPTS, provider="openai", model="gpt-4", outcome="server_error") == failures


async def test_every_breaker_open_shows_in_gauges_readiness_and_request_outcomes(
    target: Target,
) -> None:
    status, body = await get_json(target.http, f"{target.orchestrator_url}/health/ready")
    assert (status, body["status"]) == (200, "ready")

    await five.every_breaker_open_answers_503_at_once(target)
    m = await scrape(target.http, target.orchestrator_url)
    assert m.value("orchestrator_breaker_state", deployment=OPENAI_GPT4) == 2
    assert m.value("orchestrator_breaker_state", deployment=ANTHROPIC_SONNET) == 2
    # The request answered at once, and the early probes (one per deployment, counted under
    # the provider they probed).
    assert m.value(REQUESTS, model="gpt-4", provider="none", outcome="all_breakers_open") == 1
    for provider in ("openai", "anthropic"):
        outcome = "all_breakers_open"
        assert m.value(REQUESTS, model="gpt-4", provider=provider, outcome=outcome) == 1
    probes = "orchestrator_breaker_probes_total"
    assert m.value(probes, deployment=OPENAI_GPT4, kind="early") == 1
    assert m.value(probes, deployment=ANTHROPIC_SONNET, kind="early") == 1

    # Other models still have deployments whose breakers are closed: still ready.
    status, body = await get_json(target.http, f"{target.orchestrator_url}/health/ready")
    assert status == 200
    assert set(body["deployments"]["open"]) == {OPENAI_GPT4, ANTHROPIC_SONNET}


async def test_deadline_scenario_is_counted_as_a_timeout_outcome(target: Target) -> None:
    await five.deadline_holds_when_every_provider_is_silent(target)
    m = await scrape(target.http, target.orchestrator_url)
    timed_out = m.total(REQUESTS, outcome="deadline_exceeded") + m.total(
        REQUESTS, outcome="upstream_timeout"
    )
    assert timed_out == 1
    assert m.total(ATTEMPTS, outcome="timeout") >= 2


async def test_journey_of_a_retried_request_shows_each_attempt_and_its_backoff(
    target: Target,
) -> None:
    await five.timeout_then_retry(target)
    status, journey = await get_json(
        target.http, f"{target.orchestrator_url}/v1/requests/timeout-1"
    )
    assert status == 200
    assert journey["request_id"] == "timeout-1"
    assert (journey["status"], journey["outcome"], journey["served_by"]) == (
        200,
        "success",
        OPENAI_GPT4,
    )
    log = journey["attempt_log"]
    assert [(a["provider"], a["outcome"], a["decision"]) for a in log] == [
        ("openai", "timeout", "failover"),
        ("anthropic", "timeout", "failover"),
        ("openai", "success", "return"),
    ]
    assert log[1]["backoff_ms"] == 0
    assert log[2]["backoff_ms"] > 0
    assert log[2]["started_at_ms"] >= log[1]["started_at_ms"] + log[1]["latency_ms"]


async def test_unknown_request_id_is_404_naming_the_param(target: Target) -> None:
    status, body = await get_json(target.http, f"{target.orchestrator_url}/v1/requests/nope-1")
    assert status == 404
    assert (body["error"]["code"], body["error"]["param"]) == ("request_not_found", "request_id")


async def test_rejected_request_has_a_journey_naming_the_field(target: Target) -> None:
    await five.validation_rejects_without_upstream_calls(target)
    status, journey = await get_json(
        target.http, f"{target.orchestrator_url}/v1/requests/invalid-1"
    )
    assert status == 200
    assert (journey["status"], journey["outcome"], journey["attempts"]) == (400, "rejected", 0)
    assert journey["error"]["param"] == "messages[0].role"


async def test_stats_count_requests_retries_and_provider_outcomes(target: Target) -> None:
    await five.happy_path(target)
    await target.reset_mock()
    await five.rate_limit_failover(target)
    await target.reset_mock()
    await five.validation_rejects_without_upstream_calls(target)
    status, stats = await get_json(target.http, f"{target.orchestrator_url}/stats")
    assert status == 200
    assert stats["requests"] == {"total": 3, "succeeded": 2, "failed": 0, "rejected": 1}
    assert stats["success_rate"] == 1.0
    assert (stats["attempts"], stats["retries"], stats["failovers"]) == (3, 1, 1)
    assert stats["providers"]["openai"] == {"successes": 1, "failures": 1, "client_errors": 0}
    assert stats["providers"]["anthropic"]["successes"] == 1
    assert stats["latency_ms"]["p50"] > 0
    assert stats["latency_ms"]["p95"] >= stats["latency_ms"]["p50"]


async def test_providers_list_recent_health_per_deployment(target: Target) -> None:
    await target.set_faults({"provider": "openai", "script": ["500", "ok"]})
    status, _, _ = await target.chat(chat_body())
    assert status == 200
    status, listing = await get_json(target.http, f"{target.orchestrator_url}/v1/providers")
    assert status == 200
    by_key = {entry["deployment"]: entry for entry in listing["data"]}
    openai_gpt4 = by_key[OPENAI_GPT4]
    assert openai_gpt4["state"] == "closed"
    assert openai_gpt4["recent"]["attempts"] == 2
    assert openai_gpt4["recent"]["success_rate"] == 0.5
    assert openai_gpt4["recent"]["latency_ms"]["p95"] > 0
    assert by_key[ANTHROPIC_SONNET]["routes"] == ["gpt-4", "gpt-4o", "claude-3-5-sonnet-20241022"]


async def test_openai_sdk_lists_and_retrieves_the_routed_models(target: Target) -> None:
    async with openai.AsyncOpenAI(
        api_key="sk-test", base_url=f"{target.orchestrator_url}/v1", max_retries=0
    ) as client:
        listed = [model.id async for model in client.models.list()]
        retrieved = await client.models.retrieve("gpt-4o")
        with_error = None
        try:
            await client.models.retrieve("no-such-model")
        except openai.NotFoundError as exc:
            with_error = exc
    assert listed == [
        "gpt-4",
        "gpt-4o",
        "gpt-4o-mini",
        "claude-3-5-sonnet-20241022",
        "text-embedding-3-small",
    ]
    assert retrieved.id == "gpt-4o"
    assert with_error is not None
    assert with_error.status_code == 404


async def test_streamed_request_shows_its_end_in_journey_and_metrics_not_in_overhead(
    target: Target,
) -> None:
    body = chat_body(stream=True)
    async with target.http.post(
        f"{target.orchestrator_url}/v1/chat/completions",
        json=body,
        headers={"X-Request-ID": "stream-1"},
    ) as response:
        assert response.status == 200
        assert (await response.text()).rstrip().endswith("data: [DONE]")
    status, journey = await get_json(target.http, f"{target.orchestrator_url}/v1/requests/stream-1")
    assert status == 200
    assert journey["stream"]["end"] == "completed"
    assert journey["stream"]["content_chunks"] >= 1
    m = await scrape(target.http, target.orchestrator_url)
    ends = "orchestrator_stream_ends_total"
    assert m.value(ends, provider="openai", model="gpt-4", end="completed") == 1
    assert m.value("orchestrator_overhead_seconds_count") == 1
    # The relay waits on the provider's tokens: it must not be counted as our overhead.
    overhead_ms = m.value("orchestrator_overhead_seconds_sum") * 1000.0
    assert overhead_ms < journey["stream"]["relay_ms"], (overhead_ms, journey["stream"])
