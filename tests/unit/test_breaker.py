"""The circuit breaker's state machine, driven by a fake clock."""

from __future__ import annotations

import random

import orjson
import pytest

from orchestrator.breaker import (
    BreakerRegistry,
    BreakerState,
    CircuitBreaker,
)
from orchestrator.breaker.rules import should_trip
from orchestrator.breaker.window import OutcomeWindow
from orchestrator.config import BreakerPolicy
from orchestrator.decision import OutcomeKind
from tests.unit.fakes import FakeClock

CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN
FORCED_OPEN = BreakerState.FORCED_OPEN
POLICY = BreakerPolicy(failure_threshold=3, open_duration_s=30.0, half_open_max_probes=2)

Transition = tuple[str, BreakerState, BreakerState]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def transitions() -> list[Transition]:
    return []


@pytest.fixture
def breaker(clock: FakeClock, transitions: list[Transition]) -> CircuitBreaker:
    def record(name: str, old: BreakerState, new: BreakerState) -> None:
        transitions.append((name, old, new))

    return CircuitBreaker("openai/gpt-4", POLICY, clock, record)


def fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        assert breaker.before_call()
        breaker.on_failure()


def open_then_cool_down(breaker: CircuitBreaker, clock: FakeClock) -> None:
    fail(breaker, POLICY.failure_threshold)
    clock.advance(POLICY.open_duration_s)


# --- closed ---------------------------------------------------------------------------------


def test_new_breaker_is_closed_and_admits_calls(breaker: CircuitBreaker) -> None:
    assert breaker.state is CLOSED
    assert breaker.before_call()
    assert breaker.next_probe_at() is None
    assert breaker.opened_at is None


def test_stays_closed_below_the_failure_threshold(
    breaker: CircuitBreaker, transitions: list[Transition]
) -> None:
    fail(breaker, POLICY.failure_threshold - 1)
    assert breaker.state is CLOSED
    assert breaker.consecutive_failures == POLICY.failure_threshold - 1
    assert transitions == []


def test_opens_at_the_failure_threshold(
    breaker: CircuitBreaker, clock: FakeClock, transitions: list[Transition]
) -> None:
    fail(breaker, POLICY.failure_threshold)
    assert breaker.state is OPEN
    assert breaker.opened_at == clock()
    assert breaker.next_probe_at() == clock() + POLICY.open_duration_s
    assert transitions == [("openai/gpt-4", CLOSED, OPEN)]


def test_success_resets_the_consecutive_failure_count(breaker: CircuitBreaker) -> None:
    fail(breaker, POLICY.failure_threshold - 1)
    breaker.on_success()
    fail(breaker, POLICY.failure_threshold - 1)
    assert breaker.state is CLOSED
    assert breaker.consecutive_failures == POLICY.failure_threshold - 1


def test_neutral_outcomes_neither_trip_nor_heal_when_closed(breaker: CircuitBreaker) -> None:
    fail(breaker, POLICY.failure_threshold - 1)
    for _ in range(10):
        breaker.on_neutral()
    assert breaker.consecutive_failures == POLICY.failure_threshold - 1
    breaker.on_failure()
    assert breaker.state is OPEN


# --- open -----------------------------------------------------------------------------------


def test_open_refuses_calls_until_the_cool_down_ends(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    fail(breaker, POLICY.failure_threshold)
    clock.advance(POLICY.open_duration_s - 0.001)
    assert not breaker.before_call()
    assert breaker.state is OPEN


def test_late_outcomes_while_open_change_nothing(
    breaker: CircuitBreaker, clock: FakeClock, transitions: list[Transition]
) -> None:
    fail(breaker, POLICY.failure_threshold)
    opened_at = breaker.opened_at
    clock.advance(5)
    breaker.on_success()
    breaker.on_failure()
    breaker.on_neutral()
    assert breaker.state is OPEN
    assert breaker.opened_at == opened_at
    assert transitions == [("openai/gpt-4", CLOSED, OPEN)]


def test_reading_state_after_the_cool_down_shows_half_open_without_a_transition(
    breaker: CircuitBreaker, clock: FakeClock, transitions: list[Transition]
) -> None:
    open_then_cool_down(breaker, clock)
    assert breaker.state is HALF_OPEN
    assert breaker.state is HALF_OPEN
    assert breaker.next_probe_at() is None
    breaker.snapshot()
    breaker.would_admit()
    # Reads (health, metrics, the router) never change state or fire a listener.
    assert transitions == [("openai/gpt-4", CLOSED, OPEN)]


def test_cool_down_is_observed_by_before_call(
    breaker: CircuitBreaker, clock: FakeClock, transitions: list[Transition]
) -> None:
    open_then_cool_down(breaker, clock)
    assert breaker.before_call()
    assert transitions[-1] == ("openai/gpt-4", OPEN, HALF_OPEN)


# --- half-open ------------------------------------------------------------------------------


def test_half_open_allows_only_n_probes(breaker: CircuitBreaker, clock: FakeClock) -> None:
    open_then_cool_down(breaker, clock)
    admitted = [breaker.before_call() for _ in range(POLICY.half_open_max_probes + 3)]
    assert admitted == [True] * POLICY.half_open_max_probes + [False] * 3


def succeed_probes(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        assert breaker.before_call()
        breaker.on_success()


def test_one_lucky_probe_does_not_close_a_half_open_breaker(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    open_then_cool_down(breaker, clock)
    succeed_probes(breaker, 1)
    assert breaker.state is HALF_OPEN


def test_half_open_closes_on_a_healthy_success_rate_and_clears_counts(
    breaker: CircuitBreaker, clock: FakeClock, transitions: list[Transition]
) -> None:
    open_then_cool_down(breaker, clock)
    needed = POLICY.half_open_successes_needed  # 4 of 5 by default
    succeed_probes(breaker, needed - 1)
    assert breaker.before_call()
    breaker.on_failure()  # one unlucky probe among them
    assert breaker.state is HALF_OPEN
    succeed_probes(breaker, 1)
    assert breaker.state is CLOSED
    assert breaker.consecutive_failures == 0
    assert breaker.opened_at is None
    assert transitions[-1] == ("openai/gpt-4", HALF_OPEN, CLOSED)
    assert all(breaker.before_call() for _ in range(10))


def test_half_open_admits_one_more_call_at_a_time_with_each_success(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    open_then_cool_down(breaker, clock)
    start = POLICY.half_open_max_probes
    assert [breaker.before_call() for _ in range(start + 1)] == [True] * start + [False]
    breaker.on_success()  # one slot freed, and the limit grows by one
    assert [breaker.before_call() for _ in range(3)] == [True, True, False]


def test_one_unlucky_probe_does_not_cost_another_cool_down(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    open_then_cool_down(breaker, clock)
    assert breaker.before_call()
    breaker.on_failure()
    assert breaker.state is HALF_OPEN
    assert breaker.before_call()


def test_half_open_reopens_with_a_fresh_cool_down_once_the_rate_is_out_of_reach(
    breaker: CircuitBreaker, clock: FakeClock, transitions: list[Transition]
) -> None:
    open_then_cool_down(breaker, clock)
    for _ in range(POLICY.half_open_failures_allowed + 1):
        assert breaker.before_call()
        clock.advance(2)
        breaker.on_failure()
    assert breaker.state is OPEN
    assert breaker.opened_at == clock()
    assert breaker.next_probe_at() == clock() + POLICY.open_duration_s
    assert transitions[-1] == ("openai/gpt-4", HALF_OPEN, OPEN)
    clock.advance(POLICY.open_duration_s - 0.001)
    assert not breaker.before_call()


def test_every_deployment_open_lets_one_early_probe_through_per_interval(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    fail(breaker, POLICY.failure_threshold)
    every_s = POLICY.all_open_probe_interval_s
    assert every_s is not None
    assert breaker.early_probe()
    assert not breaker.early_probe()  # one out at a time
    breaker.on_failure()
    opened_at = breaker.opened_at
    assert not breaker.early_probe()  # and one per interval
    clock.advance(every_s)
    assert breaker.early_probe()
    breaker.on_failure()
    assert breaker.state is OPEN
    assert breaker.opened_at == opened_at  # a failed early probe costs no new cool-down


def test_an_early_probe_that_succeeds_starts_recovery_before_the_cool_down_ends(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    fail(breaker, POLICY.failure_threshold)
    assert breaker.early_probe()
    breaker.on_success()
    assert breaker.state is HALF_OPEN
    succeed_probes(breaker, POLICY.half_open_successes_needed - 1)
    assert breaker.state is CLOSED


def test_an_early_probe_never_reported_does_not_wedge_the_breaker(clock: FakeClock) -> None:
    policy = BreakerPolicy(failure_threshold=1, open_duration_s=30.0)
    breaker = CircuitBreaker("openai/gpt-4", policy, clock)
    breaker.on_failure()
    assert breaker.early_probe()  # its caller vanishes without a word
    clock.advance(10.0)
    assert not breaker.early_probe()  # one out at a time
    clock.advance(20.0)  # the cool-down ends: half-open, with its own probe slots
    assert breaker.before_call()


def test_a_forced_open_breaker_takes_no_early_probe(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    breaker.force_open()
    assert not breaker.early_probe_due()
    assert not breaker.early_probe()


def test_early_probes_can_be_turned_off(clock: FakeClock) -> None:
    policy = BreakerPolicy(failure_threshold=1, all_open_probe_interval_s=None)
    breaker = CircuitBreaker("openai/gpt-4", policy, clock)
    breaker.on_failure()
    assert not breaker.early_probe()


def test_half_open_neutral_frees_a_probe_slot_without_changing_state(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    open_then_cool_down(breaker, clock)
    assert breaker.before_call()
    assert breaker.before_call()
    assert not breaker.before_call()
    breaker.on_neutral()
    assert breaker.state is HALF_OPEN
    assert breaker.before_call()
    assert not breaker.before_call()


def test_reopening_resets_probe_slots_for_the_next_half_open(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    open_then_cool_down(breaker, clock)
    assert breaker.before_call()
    assert breaker.before_call()
    breaker.on_failure()
    clock.advance(POLICY.open_duration_s)
    assert [breaker.before_call() for _ in range(3)] == [True, True, False]


def test_lost_probe_slots_are_reclaimed_after_another_cool_down(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    open_then_cool_down(breaker, clock)
    assert breaker.before_call()
    assert breaker.before_call()  # both callers vanish without reporting an outcome
    clock.advance(POLICY.open_duration_s - 0.001)
    assert not breaker.before_call()
    clock.advance(0.001)
    assert breaker.before_call()


# --- admin ----------------------------------------------------------------------------------


def test_force_open_stays_open_past_the_cool_down_until_reset(
    breaker: CircuitBreaker, clock: FakeClock, transitions: list[Transition]
) -> None:
    breaker.force_open()
    assert breaker.state is FORCED_OPEN
    assert breaker.snapshot()["state"] == "forced_open"
    assert breaker.next_probe_at() is None
    clock.advance(POLICY.open_duration_s * 100)
    assert breaker.state is FORCED_OPEN
    assert not breaker.before_call()
    breaker.on_success()
    assert breaker.state is FORCED_OPEN
    breaker.reset()
    assert breaker.state is CLOSED
    assert breaker.before_call()
    assert transitions == [
        ("openai/gpt-4", CLOSED, FORCED_OPEN),
        ("openai/gpt-4", FORCED_OPEN, CLOSED),
    ]


def test_force_open_on_an_open_breaker_is_a_state_of_its_own(
    breaker: CircuitBreaker, transitions: list[Transition]
) -> None:
    fail(breaker, POLICY.failure_threshold)
    breaker.force_open()
    assert breaker.next_probe_at() is None
    assert transitions == [("openai/gpt-4", CLOSED, OPEN), ("openai/gpt-4", OPEN, FORCED_OPEN)]


def test_reset_clears_failures_and_reports_nothing_when_already_closed(
    breaker: CircuitBreaker, transitions: list[Transition]
) -> None:
    fail(breaker, POLICY.failure_threshold - 1)
    breaker.reset()
    assert breaker.consecutive_failures == 0
    assert transitions == []
    fail(breaker, POLICY.failure_threshold - 1)
    assert breaker.state is CLOSED


def test_snapshot_is_json_ready_and_tells_the_state(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    fail(breaker, POLICY.failure_threshold)
    snapshot = orjson.loads(orjson.dumps(breaker.snapshot()))
    assert snapshot["state"] == "open"
    assert snapshot["consecutive_failures"] == POLICY.failure_threshold
    assert snapshot["opened_at"] == clock()
    assert snapshot["next_probe_at"] == clock() + POLICY.open_duration_s
    assert snapshot["forced_open"] is False


def test_breaker_works_without_a_transition_listener(clock: FakeClock) -> None:
    breaker = CircuitBreaker("x/y", BreakerPolicy(failure_threshold=1), clock)
    breaker.on_failure()
    assert breaker.state is OPEN


# --- failure-rate rule ----------------------------------------------------------------------

RATE_POLICY = BreakerPolicy(
    failure_threshold=100, failure_rate_threshold=0.5, window_size=10, min_calls_in_window=4
)


def test_failure_rate_opens_when_the_share_of_failures_reaches_the_threshold(
    clock: FakeClock,
) -> None:
    breaker = CircuitBreaker("x/y", RATE_POLICY, clock)
    for failed in (False, False, True, False, True):  # never two failures in a row
        if failed:
            breaker.on_failure()
        else:
            breaker.on_success()
    assert breaker.state is CLOSED  # 2 of 5 failed: 40%
    breaker.on_failure()
    assert breaker.state is OPEN  # 3 of 6: 50%
    assert breaker.consecutive_failures == 2


def test_failure_rate_waits_for_the_minimum_number_of_calls(clock: FakeClock) -> None:
    breaker = CircuitBreaker("x/y", RATE_POLICY, clock)
    for _ in range(RATE_POLICY.min_calls_in_window - 1):
        breaker.on_failure()
        breaker.on_neutral()  # client errors are not calls in the window
    assert breaker.state is CLOSED
    breaker.on_failure()
    assert breaker.state is OPEN


def test_failure_rate_forgets_outcomes_that_left_the_window(clock: FakeClock) -> None:
    breaker = CircuitBreaker("x/y", RATE_POLICY, clock)
    breaker.on_failure()
    breaker.on_failure()
    breaker.on_success()
    for _ in range(RATE_POLICY.window_size):
        breaker.on_success()
    breaker.on_failure()
    assert breaker.snapshot()["window_failures"] == 1
    assert breaker.state is CLOSED


def test_outcome_window_counts_only_the_last_n() -> None:
    window = OutcomeWindow(3)
    for failed in (True, True, False, False):
        window.record(failed)
    assert (window.calls, window.failures) == (3, 1)
    window.record(False)
    assert (window.calls, window.failures) == (3, 0)
    window.clear()
    assert (window.calls, window.failures) == (0, 0)


@pytest.mark.parametrize(
    ("consecutive", "calls", "failures", "expected"),
    [
        (100, 0, 0, True),  # consecutive rule alone
        (99, 3, 3, False),  # rate 100% but below min_calls_in_window
        (1, 4, 2, True),  # exactly at the rate threshold
        (1, 10, 4, False),  # below the rate threshold
    ],
)
def test_should_trip_combines_both_rules(
    consecutive: int, calls: int, failures: int, expected: bool
) -> None:
    assert should_trip(consecutive, calls, failures, RATE_POLICY) is expected


def test_should_trip_ignores_the_window_without_a_rate_threshold() -> None:
    policy = BreakerPolicy(failure_threshold=5, failure_rate_threshold=None)
    assert not should_trip(4, 20, 20, policy)
    assert should_trip(5, 0, 0, policy)


# --- registry -------------------------------------------------------------------------------


def test_registry_creates_one_breaker_per_key_on_first_use(clock: FakeClock) -> None:
    seen: list[Transition] = []
    registry = BreakerRegistry(BreakerPolicy(failure_threshold=1), clock, lambda *t: seen.append(t))
    first = registry.get("openai/gpt-4")
    assert registry.get("openai/gpt-4") is first
    assert registry.get("anthropic/claude") is not first
    assert set(registry.all()) == {"openai/gpt-4", "anthropic/claude"}
    first.on_failure()
    assert seen == [("openai/gpt-4", CLOSED, OPEN)]
    assert registry.get("anthropic/claude").state is CLOSED


def test_registry_view_is_read_only(clock: FakeClock) -> None:
    registry = BreakerRegistry(BreakerPolicy(), clock)
    with pytest.raises(TypeError):
        registry.all()["x"] = registry.get("y")  # type: ignore[index]


# --- dead or degraded (default policy) --------------------------------------------------------


def test_a_429_feeds_the_cool_down_not_the_breaker(clock: FakeClock) -> None:
    registry = BreakerRegistry(BreakerPolicy(), clock)
    for _ in range(100):
        registry.record("openai/gpt-4", OutcomeKind.RATE_LIMITED)
    breaker = registry.get("openai/gpt-4")
    assert (breaker.state, breaker.consecutive_failures) == (CLOSED, 0)


def test_the_default_rule_ejects_a_dead_deployment_within_ten_calls(clock: FakeClock) -> None:
    registry = BreakerRegistry(BreakerPolicy(), clock)
    calls = 0
    while registry.get("openai/gpt-4").state is CLOSED:
        registry.record("openai/gpt-4", OutcomeKind.SERVER_ERROR)
        calls += 1
    assert calls == 10


def test_the_default_rule_keeps_a_deployment_failing_half_its_calls_in_service(
    clock: FakeClock,
) -> None:
    registry = BreakerRegistry(BreakerPolicy(), clock)
    rng = random.Random(13)
    for _ in range(5_000):
        failed = rng.random() < 0.5
        kind = OutcomeKind.SERVER_ERROR if failed else OutcomeKind.SUCCESS
        registry.record("openai/gpt-4", kind)
        assert registry.get("openai/gpt-4").state is CLOSED


def test_slow_calls_open_the_breaker_like_failures_do(clock: FakeClock) -> None:
    registry = BreakerRegistry(BreakerPolicy(slow_call_rate_threshold=0.8), clock)
    for _ in range(10):  # min_calls_in_window: nothing is judged before then
        registry.record("openai/gpt-4", OutcomeKind.SUCCESS, slow=True)
    assert registry.get("openai/gpt-4").state is OPEN


def test_a_few_slow_calls_among_fast_ones_keep_it_closed(clock: FakeClock) -> None:
    registry = BreakerRegistry(BreakerPolicy(slow_call_rate_threshold=0.8), clock)
    for index in range(200):
        registry.record("openai/gpt-4", OutcomeKind.SUCCESS, slow=index % 2 == 0)
    breaker = registry.get("openai/gpt-4")
    assert breaker.state is CLOSED
    assert breaker.snapshot()["window_slow_calls"] == 10


def test_a_slow_probe_counts_against_recovery(clock: FakeClock) -> None:
    breaker = CircuitBreaker("openai/gpt-4", POLICY, clock)
    open_then_cool_down(breaker, clock)
    for _ in range(POLICY.half_open_failures_allowed + 1):
        assert breaker.before_call()
        breaker.on_success(slow=True)
    assert breaker.state is OPEN
