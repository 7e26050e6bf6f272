"""The retry policy: the decision table, decide(), and full-jitter backoff bounds."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from orchestrator.decision import (
    DECISION_TABLE,
    Action,
    Decision,
    Outcome,
    OutcomeKind,
    decide,
    full_jitter_backoff_s,
)
from orchestrator.policies import BackoffPolicy, PolicyError, RetryPolicy
from tests.unit.fakes import ScriptedRandom

POLICY = RetryPolicy(short_retry_after_max_s=2.0)
JUST_BELOW_ONE = 1.0 - 1e-12

# What each outcome must do, and whether it counts against the deployment's breaker.
EXPECTED = {
    OutcomeKind.SUCCESS: (Action.RETURN, False),
    OutcomeKind.SERVER_ERROR: (Action.RETRY_SAME, True),
    OutcomeKind.OVERLOADED: (Action.RETRY_SAME, True),
    OutcomeKind.CONNECTION_ERROR: (Action.RETRY_SAME, True),
    OutcomeKind.MALFORMED_RESPONSE: (Action.RETRY_SAME, True),
    OutcomeKind.TIMEOUT: (Action.FAILOVER, True),
    OutcomeKind.RATE_LIMITED: (Action.FAILOVER, False),  # busy, not broken: cool-down only
    OutcomeKind.CONTEXT_LENGTH: (Action.FAILOVER_LARGER_CONTEXT, False),
    OutcomeKind.CONTENT_POLICY: (Action.STOP, False),
    OutcomeKind.CLIENT_ERROR: (Action.STOP, False),
    OutcomeKind.AUTH_ERROR: (Action.FAILOVER, False),
    OutcomeKind.UNEXPECTED_ERROR: (Action.FAILOVER, True),
}


# --- the decision table ---------------------------------------------------------------------


def test_decision_table_covers_every_outcome_kind() -> None:
    assert set(DECISION_TABLE) == set(OutcomeKind)


@pytest.mark.parametrize("kind", list(OutcomeKind))
def test_decision_table_rule_per_outcome(kind: OutcomeKind) -> None:
    rule = DECISION_TABLE[kind]
    assert (rule.action, rule.trips_breaker) == EXPECTED[kind]


def test_only_success_heals_the_breaker() -> None:
    healing = {kind for kind, rule in DECISION_TABLE.items() if rule.heals_breaker}
    assert healing == {OutcomeKind.SUCCESS}


def test_decision_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        DECISION_TABLE[OutcomeKind.SUCCESS] = DECISION_TABLE[OutcomeKind.CLIENT_ERROR]  # type: ignore[index]


# --- decide() -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [k for k in OutcomeKind if k is not OutcomeKind.RATE_LIMITED])
def test_decide_follows_the_table_without_waiting(kind: OutcomeKind) -> None:
    assert decide(Outcome(kind), POLICY) == Decision(EXPECTED[kind][0])


def test_decide_ignores_retry_after_on_anything_but_a_429() -> None:
    outcome = Outcome(OutcomeKind.SERVER_ERROR, status=503, retry_after_s=1.0)
    assert decide(outcome, POLICY) == Decision(Action.RETRY_SAME)


@pytest.mark.parametrize("retry_after_s", [0.0, 0.5, 2.0])
def test_429_with_a_short_retry_after_waits_it_out_on_the_same_deployment(
    retry_after_s: float,
) -> None:
    outcome = Outcome(OutcomeKind.RATE_LIMITED, status=429, retry_after_s=retry_after_s)
    assert decide(outcome, POLICY) == Decision(Action.RETRY_SAME, wait_s=retry_after_s)


def test_429_with_a_long_retry_after_fails_over_and_excludes_for_that_long() -> None:
    outcome = Outcome(OutcomeKind.RATE_LIMITED, status=429, retry_after_s=2.001)
    assert decide(outcome, POLICY) == Decision(Action.FAILOVER, exclude_for_s=2.001)


def test_429_without_retry_after_fails_over_at_once_without_exclusion() -> None:
    decision = decide(Outcome(OutcomeKind.RATE_LIMITED, status=429), POLICY)
    assert decision == Decision(Action.FAILOVER, wait_s=0.0, exclude_for_s=None)


def test_short_retry_after_limit_of_zero_fails_over_even_for_a_tiny_wait() -> None:
    outcome = Outcome(OutcomeKind.RATE_LIMITED, status=429, retry_after_s=0.01)
    policy = RetryPolicy(short_retry_after_max_s=0.0)
    assert decide(outcome, policy).action is Action.FAILOVER


def test_outcome_ok_only_for_success() -> None:
    assert Outcome(OutcomeKind.SUCCESS).ok
    assert not any(Outcome(k).ok for k in OutcomeKind if k is not OutcomeKind.SUCCESS)


# --- full_jitter_backoff_s ------------------------------------------------------------------

BACKOFF = BackoffPolicy(base_s=2.0, multiplier=2.0, cap_s=30.0)


@pytest.mark.parametrize(
    ("retry_index", "ceiling_s"), [(0, 2.0), (1, 4.0), (2, 8.0), (3, 16.0), (4, 30.0), (50, 30.0)]
)
def test_backoff_ceiling_grows_exponentially_up_to_the_cap(
    retry_index: int, ceiling_s: float
) -> None:
    assert full_jitter_backoff_s(retry_index, BACKOFF, lambda: 0.0) == 0.0
    top = full_jitter_backoff_s(retry_index, BACKOFF, lambda: JUST_BELOW_ONE)
    assert top == pytest.approx(ceiling_s)
    assert top < ceiling_s


def test_backoff_is_the_random_share_of_the_ceiling() -> None:
    assert full_jitter_backoff_s(2, BACKOFF, lambda: 0.25) == 2.0


def test_backoff_with_seeded_randomness_stays_within_bounds_and_spreads() -> None:
    rng = random.Random(1234)
    for retry_index in range(12):
        ceiling_s = min(BACKOFF.cap_s, BACKOFF.base_s * BACKOFF.multiplier**retry_index)
        waits = [full_jitter_backoff_s(retry_index, BACKOFF, rng.random) for _ in range(200)]
        assert all(0.0 <= w < ceiling_s for w in waits)
        # Full jitter uses the whole window, not just its top or bottom.
        assert min(waits) < 0.1 * ceiling_s
        assert max(waits) > 0.9 * ceiling_s


def test_backoff_uses_each_random_draw_once() -> None:
    draws = ScriptedRandom([0.5, 0.1])
    assert full_jitter_backoff_s(0, BACKOFF, draws) == 1.0
    assert full_jitter_backoff_s(0, BACKOFF, draws) == pytest.approx(0.2)


def test_backoff_with_zero_base_never_waits() -> None:
    policy = BackoffPolicy(base_s=0.0, multiplier=2.0, cap_s=30.0)
    assert full_jitter_backoff_s(5, policy, lambda: JUST_BELOW_ONE) == 0.0


def test_backoff_with_multiplier_one_is_constant() -> None:
    policy = BackoffPolicy(base_s=0.5, multiplier=1.0, cap_s=30.0)
    assert full_jitter_backoff_s(0, policy, lambda: 0.5) == 0.25
    assert full_jitter_backoff_s(40, policy, lambda: 0.5) == 0.25


@pytest.mark.parametrize("multiplier", [2.0, 1e10, float("inf")])
def test_backoff_never_overflows_for_a_huge_retry_index_or_multiplier(multiplier: float) -> None:
    policy = BackoffPolicy(base_s=1.0, multiplier=multiplier, cap_s=30.0)
    assert full_jitter_backoff_s(10_000, policy, lambda: 0.5) == 15.0


def test_backoff_rejects_a_negative_retry_index() -> None:
    with pytest.raises(ValueError, match=r"retry_index=-1 must be >= 0"):
        full_jitter_backoff_s(-1, BACKOFF, lambda: 0.5)


# --- policy validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: BackoffPolicy(base_s=-1.0), "backoff.base_s=-1.0 must be >= 0"),
        (lambda: BackoffPolicy(multiplier=0.9), "backoff.multiplier=0.9 must be >= 1"),
        (lambda: BackoffPolicy(base_s=5.0, cap_s=4.0), "backoff.cap_s=4.0 must be >= base_s"),
        (lambda: RetryPolicy(max_attempts_total=0), "retry.max_attempts_total=0 must be >= 1"),
        (
            lambda: RetryPolicy(max_attempts_per_deployment=0),
            "retry.max_attempts_per_deployment=0 must be >= 1",
        ),
        (
            lambda: RetryPolicy(short_retry_after_max_s=-0.1),
            "retry.short_retry_after_max_s=-0.1 must be >= 0",
        ),
    ],
)
def test_policies_reject_out_of_range_values_naming_key_and_value(
    build: Callable[[], object], message: str
) -> None:
    with pytest.raises(PolicyError) as caught:
        build()
    assert str(caught.value) == message
