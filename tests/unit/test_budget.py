"""The retry budget on a fake clock: retries stay a share of first-hand requests."""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator.decision import Outcome
from orchestrator.engine import Failure, Success
from orchestrator.policies import BreakerPolicy, RetryPolicy
from orchestrator.routing.budget import ShareBudget
from tests.unit.fakes import FakeClock
from tests.unit.test_engine import E500, _harness

KEY = "openai/gpt-4"


def test_retries_are_capped_at_the_ratio_of_first_attempts_plus_the_floor() -> None:
    clock = FakeClock()
    budget = ShareBudget(ratio=0.2, min_retries_per_s=0.1, window_s=10, clock=clock)
    for _ in range(50):
        budget.deposit(KEY)
    granted = sum(budget.spend(KEY) for _ in range(100))
    assert granted == 11  # 20% of 50, plus the floor of 0.1 a second over 10 s
    assert not budget.allows(KEY)


def test_a_refused_retry_takes_nothing_and_other_deployments_keep_their_own() -> None:
    clock = FakeClock()
    budget = ShareBudget(ratio=0.5, min_retries_per_s=0.0, window_s=10, clock=clock)
    budget.deposit(KEY)
    budget.deposit(KEY)
    assert budget.spend(KEY)
    assert not budget.spend(KEY)
    assert not budget.spend(KEY)
    budget.deposit(KEY)
    budget.deposit(KEY)
    assert budget.spend(KEY)  # the refusals spent nothing
    assert not budget.spend("anthropic/claude")  # no first-hand requests, no floor


def test_the_window_slides() -> None:
    clock = FakeClock()
    budget = ShareBudget(ratio=1.0, min_retries_per_s=0.0, window_s=10, clock=clock)
    budget.deposit(KEY)
    assert budget.spend(KEY)
    assert not budget.spend(KEY)
    clock.advance(10.0)  # the old request and its retry have left the window
    assert not budget.spend(KEY)
    budget.deposit(KEY)
    assert budget.spend(KEY)


def test_a_quiet_deployment_can_still_be_retried_within_the_floor() -> None:
    budget = ShareBudget(ratio=0.1, min_retries_per_s=0.2, window_s=10, clock=FakeClock())
    assert [budget.spend(KEY) for _ in range(3)] == [True, True, False]


async def test_with_a_spent_budget_an_outage_costs_one_attempt_a_request() -> None:
    outage: dict[str, Sequence[Outcome]] = {
        KEY: [E500] * 1000,
        "anthropic/claude-3-5-sonnet": [E500] * 1000,
    }
    no_trips = BreakerPolicy(failure_threshold=10_000, failure_rate_threshold=None)
    unbounded = _harness(outage, breaker=no_trips)
    budget = RetryPolicy(budget_ratio=0.1, budget_min_retries_per_s=0.0, budget_window_s=1e6)
    bounded = _harness(outage, breaker=no_trips, retry=budget)
    attempts = {}
    for name, harness in (("unbounded", unbounded), ("bounded", bounded)):
        total = 0
        for _ in range(20):
            result = await harness.run()
            assert isinstance(result, Failure)
            total += len(result.attempts)
        attempts[name] = total
    assert attempts["unbounded"] == 20 * 6
    # Each request tries each deployment once (a failover is not a retry); the retries on
    # each are capped at 10% of its first-hand requests: 2 apiece.
    assert attempts["bounded"] == 20 * 2 + 2 * 2


async def test_a_healthy_request_is_untouched_by_the_budget() -> None:
    h = _harness({}, retry=RetryPolicy(budget_ratio=0.1, budget_min_retries_per_s=0.0))
    result = await h.run()
    assert isinstance(result, Success)
    assert len(result.attempts) == 1
