"""The soak's tally: what it counts from the orchestrator's answers."""

from __future__ import annotations

from tools.soak import DEADLINE_S, SCENARIOS, Tally


def test_the_tally_counts_successes_attempts_per_provider_and_late_answers() -> None:
    tally = Tally()
    log = [{"provider": "openai"}, {"provider": "anthropic"}]
    tally.add(200, {"attempt_log": log}, 0.1)
    tally.add(503, {"attempt_log": []}, DEADLINE_S + 1)
    tally.lost += 1
    tally.requests += 1
    report = tally.report("brownout-50")
    assert (tally.succeeded, tally.past_deadline, tally.attempts) == (1, 1, 2)
    assert tally.by_provider == {"openai": 1, "anthropic": 1}
    assert "33.33% succeeded of 3; lost 1; past the deadline 1" in report


def test_every_scenario_s_fault_plan_is_a_valid_probability_table() -> None:
    for plans in SCENARIOS.values():
        for plan in plans:
            assert 0 < sum(plan["faults"].values()) <= 1
