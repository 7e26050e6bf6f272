"""The reliability loop against a scripted upstream, a fake clock and fixed randomness."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest

from orchestrator.breaker import BreakerRegistry, BreakerState
from orchestrator.config import AppConfig, BreakerPolicy, DeadlinePolicy
from orchestrator.decision import Outcome, OutcomeKind
from orchestrator.engine import Engine, Failure, NullObserver, Success
from orchestrator.policies import BackoffPolicy, RetryPolicy
from orchestrator.requests import RoutedRequest
from orchestrator.routing.router import Deployment, RoutePlan, Router
from shared.models import ChatMessage, ChatRequest
from tests.unit.fakes import FakeClock
from tests.unit.observer_support import ATTEMPT_TIMEOUT_S, ScriptedUpstream, config

OK = Outcome(OutcomeKind.SUCCESS, 200, latency_s=0.01)
E500 = Outcome(OutcomeKind.SERVER_ERROR, 500, latency_s=0.01, message="boom")
TIMEOUT = Outcome(OutcomeKind.TIMEOUT)  # takes the whole attempt timeout
R429 = Outcome(OutcomeKind.RATE_LIMITED, 429, latency_s=0.01, message="slow down")
E400 = Outcome(OutcomeKind.CLIENT_ERROR, 400, latency_s=0.01, message="bad param")
POLICY = Outcome(OutcomeKind.CONTENT_POLICY, 400, latency_s=0.01, message="unsafe")
TOO_LONG = Outcome(OutcomeKind.CONTEXT_LENGTH, 400, latency_s=0.01, message="prompt too long")


def _config(
    *,
    retry: RetryPolicy | None = None,
    deadline_s: float = 30.0,
    breaker: BreakerPolicy | None = None,
) -> AppConfig:
    """The shared two-deployment config (attempt timeout ATTEMPT_TIMEOUT_S), varied."""
    base = config()
    return dataclasses.replace(
        base,
        retry=retry or base.retry,
        breaker=breaker or base.breaker,
        deadline=DeadlinePolicy(request_deadline_s=deadline_s),
    )


class Harness:
    def __init__(self, config: AppConfig, scripts: dict[str, Sequence[Outcome]]) -> None:
        self.clock = FakeClock()
        self.sleeps: list[float] = []
        self.breakers = BreakerRegistry(config.breaker, self.clock)
        self.router = Router(config, self.breakers, self.clock)
        self.upstream = ScriptedUpstream(self.clock, scripts, healthy=OK)
        self.engine = Engine(
            router=self.router,
            breakers=self.breakers,
            upstream=self.upstream,
            retry=config.retry,
            deadline=config.deadline,
            clock=self.clock,
            sleep=self._sleep,
            random=lambda: 0.5,
        )

    async def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock.advance(seconds)

    async def run(self, model: str = "gpt-4") -> Success | Failure:
        request = ChatRequest(model=model, messages=(ChatMessage("user", "hello"),))
        return await self.engine.run(request, "req_test")


def _harness(scripts: dict[str, Sequence[Outcome]], **config: object) -> Harness:
    return Harness(_config(**config), scripts)  # type: ignore[arg-type]


def _providers(result: Success | Failure) -> list[str]:
    return [a.provider for a in result.attempts]


async def test_healthy_provider_answers_on_first_attempt() -> None:
    h = _harness({})
    result = await h.run()
    assert isinstance(result, Success)
    assert result.deployment.key == "openai/gpt-4"
    assert len(result.attempts) == 1
    assert result.attempts[0].outcome == "success"
    assert h.sleeps == []


async def test_server_error_retries_same_deployment_after_jittered_backoff() -> None:
    h = _harness({"openai/gpt-4": [E500, OK]})
    result = await h.run()
    assert isinstance(result, Success)
    assert _providers(result) == ["openai", "openai"]
    # full jitter with random()=0.5 on the first retry: 0.5 * min(cap, base * 2**0)
    assert h.sleeps == [0.5]
    assert result.attempts[1].backoff_ms == pytest.approx(500.0)


async def test_per_deployment_limit_then_failover_without_waiting() -> None:
    h = _harness({"openai/gpt-4": [E500, E500, E500, OK]})
    result = await h.run()
    assert isinstance(result, Success)
    assert _providers(result) == ["openai", "openai", "openai", "anthropic"]
    assert result.attempts[3].backoff_ms == 0.0
    assert h.sleeps == [0.5, 1.0]  # two retries on openai, none before anthropic


async def test_rate_limit_without_retry_after_fails_over_at_once() -> None:
    h = _harness({"openai/gpt-4": [R429]})
    result = await h.run()
    assert isinstance(result, Success)
    assert _providers(result) == ["openai", "anthropic"]
    assert result.deployment.model == "claude-3-5-sonnet"
    assert h.sleeps == []


async def test_short_retry_after_is_waited_out_on_the_same_deployment() -> None:
    short = dataclasses.replace(R429, retry_after_s=0.25)
    h = _harness({"openai/gpt-4": [short, OK]})
    result = await h.run()
    assert isinstance(result, Success)
    assert _providers(result) == ["openai", "openai"]
    assert h.sleeps == [0.25]


async def test_long_retry_after_keeps_the_deployment_out_of_later_requests() -> None:
    long = dataclasses.replace(R429, retry_after_s=20.0)
    h = _harness({"openai/gpt-4": [long, OK]})
    first = await h.run()
    second = await h.run()
    assert _providers(first) == ["openai", "anthropic"]
    assert _providers(second) == ["anthropic"]
    h.clock.advance(21.0)
    third = await h.run()
    assert _providers(third) == ["openai"]


async def test_timeout_fails_over_at_once_and_the_next_round_backs_off() -> None:
    h = _harness({"openai/gpt-4": [TIMEOUT, OK], "anthropic/claude-3-5-sonnet": [TIMEOUT]})
    result = await h.run()
    assert isinstance(result, Success)
    assert _providers(result) == ["openai", "anthropic", "openai"]
    assert [a.outcome for a in result.attempts] == ["timeout", "timeout", "success"]
    assert result.attempts[1].backoff_ms == 0.0
    assert result.attempts[2].backoff_ms == pytest.approx(500.0)


async def test_provider_client_error_is_not_retried() -> None:
    h = _harness({"openai/gpt-4": [E400]})
    result = await h.run()
    assert isinstance(result, Failure)
    assert result.status == 400
    assert len(result.attempts) == 1
    assert "bad param" in result.message


async def test_content_policy_rejection_stops_with_the_provider_reason() -> None:
    h = _harness({"openai/gpt-4": [POLICY]})
    result = await h.run()
    assert isinstance(result, Failure)
    assert result.status == 400
    assert result.code == "content_policy_violation"
    assert "unsafe" in result.message
    assert len(result.attempts) == 1


async def test_context_length_error_moves_to_a_larger_context_deployment() -> None:
    h = _harness({"openai/gpt-4": [TOO_LONG]})
    result = await h.run()
    assert isinstance(result, Success)
    assert _providers(result) == ["openai", "anthropic"]


async def test_deadline_holds_when_every_provider_is_silent() -> None:
    h = _harness(
        {"openai/gpt-4": [TIMEOUT], "anthropic/claude-3-5-sonnet": [TIMEOUT]}, deadline_s=2.5
    )
    result = await h.run()
    assert isinstance(result, Failure)
    assert result.status == 504
    assert result.code == "deadline_exceeded"
    assert result.total_latency_s <= 2.5
    assert all(a.outcome == "timeout" for a in result.attempts)
    # the last attempt's timeout was cut to the time left, not the full attempt timeout
    assert all(timeout_s <= ATTEMPT_TIMEOUT_S for _, _, timeout_s in h.upstream.calls)


async def test_total_attempt_limit_caps_the_request() -> None:
    retry = RetryPolicy(
        max_attempts_total=4,
        max_attempts_per_deployment=3,
        backoff=BackoffPolicy(base_s=0.1, cap_s=0.1),
    )
    h = _harness({"openai/gpt-4": [E500], "anthropic/claude-3-5-sonnet": [E500]}, retry=retry)
    result = await h.run()
    assert isinstance(result, Failure)
    assert len(result.attempts) == 4
    assert result.status == 502
    assert result.provider_error is not None
    assert result.provider_error["status"] == 500


async def test_breaker_opens_after_consecutive_failures_and_is_skipped() -> None:
    retry = RetryPolicy(max_attempts_per_deployment=1, backoff=BackoffPolicy(base_s=0.0, cap_s=0.0))
    h = _harness({"openai/gpt-4": [E500]}, retry=retry)
    for _ in range(5):
        served = await h.run()
        assert isinstance(served, Success)
        assert _providers(served) == ["openai", "anthropic"]
    assert h.breakers.get("openai/gpt-4").state is BreakerState.OPEN
    calls_before = len(h.upstream.calls)
    skipped = await h.run()
    assert _providers(skipped) == ["anthropic"]
    assert [key for key, _, _ in h.upstream.calls[calls_before:]] == ["anthropic/claude-3-5-sonnet"]


async def test_every_breaker_open_lets_one_early_probe_through_and_answers_the_rest_at_once() -> (
    None
):
    h = _harness({"openai/gpt-4": [E500], "anthropic/claude-3-5-sonnet": [E500]})
    for key in ("openai/gpt-4", "anthropic/claude-3-5-sonnet"):
        for _ in range(5):
            h.breakers.get(key).on_failure()
    opened_at = h.breakers.get("openai/gpt-4").opened_at
    h.clock.advance(10.0)
    for provider in ("openai", "anthropic"):  # one probe per deployment per interval
        probe = await h.run()
        assert isinstance(probe, Failure)
        assert (probe.status, probe.code) == (503, "all_breakers_open")
        assert [a.provider for a in probe.attempts] == [provider]
    for _ in range(3):  # the rest within the interval: 503 at once, no upstream call
        result = await h.run()
        assert isinstance(result, Failure)
        assert result.status == 503
        assert result.code == "all_breakers_open"
        assert result.attempts == ()
        assert result.retry_after_s == pytest.approx(20.0, abs=0.1)  # the probes took 20 ms
    assert len(h.upstream.calls) == 2
    assert h.breakers.get("openai/gpt-4").opened_at == opened_at  # no new cool-down for it


async def test_an_early_probe_that_succeeds_answers_its_request() -> None:
    h = _harness({"openai/gpt-4": [OK]})
    for key in ("openai/gpt-4", "anthropic/claude-3-5-sonnet"):
        for _ in range(5):
            h.breakers.get(key).on_failure()
    result = await h.run()
    assert isinstance(result, Success)
    assert h.breakers.get("openai/gpt-4").state is BreakerState.HALF_OPEN


class RecordingObserver(NullObserver):
    def __init__(self) -> None:
        self.events: list[tuple[str, ...]] = []

    def on_attempt(self, deployment: Deployment, outcome: Outcome, decision: object) -> None:
        self.events.append(("attempt", deployment.key, str(outcome.kind)))

    def on_wait(self, deployment: Deployment | None, wait_s: float, reason: str) -> None:
        self.events.append(("wait", reason))

    def on_failover(self, left: Deployment, to: Deployment) -> None:
        self.events.append(("failover", left.key, to.key))

    def on_route(self, model: str, plan: RoutePlan) -> None:
        pass

    def on_result(self, request: RoutedRequest, request_id: str, result: object) -> None:
        self.events.append(("result", request_id, type(result).__name__))


async def test_observer_reads_the_same_outcomes_as_the_journey() -> None:
    h = _harness({"openai/gpt-4": [E500, R429]})
    observer = RecordingObserver()
    h.engine.observer = observer
    result = await h.run()
    assert isinstance(result, Success)
    assert observer.events == [
        ("attempt", "openai/gpt-4", "server_error"),
        ("wait", "retry_same"),
        ("attempt", "openai/gpt-4", "rate_limited"),
        ("failover", "openai/gpt-4", "anthropic/claude-3-5-sonnet"),
        ("attempt", "anthropic/claude-3-5-sonnet", "success"),
        ("result", "req_test", "Success"),
    ]


async def test_no_backoff_precedes_a_deployment_its_breaker_now_refuses() -> None:
    # The attempt that opens the breaker must not be followed by a wait and then a skip.
    h = _harness({"openai/gpt-4": [E500]}, breaker=BreakerPolicy(failure_threshold=1))
    result = await h.run()
    assert isinstance(result, Success)
    assert _providers(result) == ["openai", "anthropic"]
    assert h.sleeps == []
    assert result.attempts[1].backoff_ms == 0.0


async def test_no_next_round_wait_when_every_remaining_breaker_refuses() -> None:
    # openai times out (it could come back next round) and its breaker opens; anthropic
    # spends its attempts. A next-round backoff would only lead to a skip: there is none.
    h = _harness(
        {"openai/gpt-4": [TIMEOUT], "anthropic/claude-3-5-sonnet": [E500]},
        breaker=BreakerPolicy(failure_threshold=1),
    )
    result = await h.run()
    assert isinstance(result, Failure)
    assert _providers(result) == ["openai", "anthropic"]
    assert h.sleeps == []


async def test_a_half_open_probe_that_fails_is_not_retried_after_a_wait() -> None:
    policy = BreakerPolicy(failure_threshold=1, open_duration_s=5.0)
    h = _harness({"openai/gpt-4": [E500, E500, OK]}, breaker=policy)
    await h.run()  # opens openai's breaker
    h.clock.advance(5.0)
    h.sleeps.clear()
    result = await h.run()  # the probe fails: straight to anthropic
    assert isinstance(result, Success)
    assert _providers(result) == ["openai", "anthropic"]
    assert h.sleeps == []
    # One unlucky probe: still recovering, not another cool-down.
    assert h.breakers.get("openai/gpt-4").state is BreakerState.HALF_OPEN


async def test_the_caller_s_own_deadline_caps_the_configured_one() -> None:
    h = _harness({"openai/gpt-4": [E500], "anthropic/claude-3-5-sonnet": [E500]})
    request = ChatRequest(model="gpt-4", messages=(ChatMessage("user", "hello"),))
    started = h.clock()
    result = await h.engine.run(request, "req_short", deadline_s=1.2)
    assert isinstance(result, Failure)
    assert result.code == "deadline_exceeded"
    assert "1.2 s" in result.message
    assert h.clock() - started <= 1.2


async def test_the_attempt_log_never_says_retry_when_no_retry_followed() -> None:
    h = _harness({"openai/gpt-4": [E500], "anthropic/claude-3-5-sonnet": [E500]})
    result = await h.run()
    assert isinstance(result, Failure)
    decisions = [a.decision for a in result.attempts]
    # Three tries each: the third on openai failed over, the last one stopped.
    assert decisions == ["retry_same", "retry_same", "failover", "retry_same", "retry_same", "stop"]


async def test_a_429_with_nowhere_else_to_go_waits_and_is_tried_again() -> None:
    h = _harness({"openai/gpt-4": [R429, OK], "anthropic/claude-3-5-sonnet": [R429]})
    result = await h.run()
    assert isinstance(result, Success)
    assert _providers(result) == ["openai", "anthropic", "openai"]
    assert len(h.sleeps) == 1  # one next-round backoff: the brief, jittered cool-down


async def test_slow_successes_count_as_slow_and_open_the_breaker() -> None:
    base = _config(breaker=BreakerPolicy(min_calls_in_window=3, slow_call_rate_threshold=1.0))
    slow_openai = dataclasses.replace(base.providers["openai"], slow_call_duration_s=0.005)
    config = dataclasses.replace(base, providers={**base.providers, "openai": slow_openai})
    h = Harness(config, {})  # every answer takes OK's 10 ms: slow for openai
    for _ in range(3):
        assert isinstance(await h.run(), Success)
    assert h.breakers.get("openai/gpt-4").state is BreakerState.OPEN
    result = await h.run()
    assert isinstance(result, Success)
    assert result.deployment.key == "anthropic/claude-3-5-sonnet"  # no slow limit there
