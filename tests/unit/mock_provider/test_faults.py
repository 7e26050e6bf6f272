from __future__ import annotations

import random
from collections import Counter

import pytest

from mock_provider.faults import (
    HEALTHY_PLAN,
    FailNext,
    FaultBoard,
    FaultParams,
    FaultPlan,
    Outage,
    ProviderFaults,
    provider_rng,
)

NOW = 1_000.0


def faults_for(plan: FaultPlan, seed: int = 7) -> ProviderFaults:
    return ProviderFaults(plan, provider_rng(seed, "openai"), NOW)


def kinds(faults: ProviderFaults, count: int, now: float = NOW) -> list[str]:
    return [faults.next_fault(now).kind for _ in range(count)]


def test_healthy_plan_answers_ok_without_drawing() -> None:
    rng = random.Random(1)
    state_before = rng.getstate()
    faults = ProviderFaults(HEALTHY_PLAN, rng, NOW)
    assert kinds(faults, 3) == ["ok", "ok", "ok"]
    assert rng.getstate() == state_before


def test_script_runs_one_step_per_request_then_healthy() -> None:
    faults = faults_for(FaultPlan(script=("429", "500", "ok", "529")))
    assert kinds(faults, 6) == ["429", "500", "ok", "529", "ok", "ok"]


def test_fail_next_fails_exactly_n_requests() -> None:
    faults = faults_for(FaultPlan(fail_next=FailNext(count=2, fault="503")))
    assert kinds(faults, 4) == ["503", "503", "ok", "ok"]


def test_outage_fails_every_request_until_the_window_ends() -> None:
    faults = faults_for(FaultPlan(outage=Outage(duration_s=30.0, fault="502")))
    assert faults.next_fault(NOW).kind == "502"
    assert faults.next_fault(NOW + 29.9).kind == "502"
    assert faults.next_fault(NOW + 30.0).kind == "ok"


def test_outage_takes_precedence_and_does_not_consume_the_script() -> None:
    plan = FaultPlan(script=("429",), outage=Outage(duration_s=10.0, fault="503"))
    faults = faults_for(plan)
    assert faults.next_fault(NOW + 1).kind == "503"
    assert faults.next_fault(NOW + 10).kind == "429"
    assert faults.next_fault(NOW + 11).kind == "ok"


def test_script_runs_before_fail_next() -> None:
    faults = faults_for(FaultPlan(script=("ok",), fail_next=FailNext(count=1, fault="500")))
    assert kinds(faults, 3) == ["ok", "500", "ok"]


def test_rpm_limit_answers_429_with_the_seconds_until_room() -> None:
    faults = faults_for(FaultPlan(rpm_limit=2))
    assert faults.next_fault(NOW).kind == "ok"
    assert faults.next_fault(NOW + 20).kind == "ok"
    refused = faults.next_fault(NOW + 30)
    assert (refused.kind, refused.source, refused.retry_after_s) == (
        "429_retry_after",
        "rpm_limit",
        30,
    )
    assert faults.next_fault(NOW + 60).kind == "ok"
    assert faults.rpm_remaining(NOW + 60) == 0


def test_probabilities_follow_their_weights() -> None:
    faults = faults_for(FaultPlan(probabilities=(("timeout", 0.2), ("429", 0.3))))
    counts = Counter(kinds(faults, 10_000))
    assert counts["timeout"] == pytest.approx(2_000, rel=0.1)
    assert counts["429"] == pytest.approx(3_000, rel=0.1)
    assert counts["ok"] == pytest.approx(5_000, rel=0.1)


def test_same_seed_gives_the_same_fault_sequence() -> None:
    plan = FaultPlan(probabilities=(("500", 0.5),))
    assert kinds(faults_for(plan, seed=42), 50) == kinds(faults_for(plan, seed=42), 50)
    assert kinds(faults_for(plan, seed=42), 50) != kinds(faults_for(plan, seed=43), 50)


def test_probability_one_always_fails() -> None:
    faults = faults_for(FaultPlan(probabilities=(("reset", 1.0),)))
    assert set(kinds(faults, 100)) == {"reset"}


def test_response_delay_alone_slows_every_answer_as_the_seed_did() -> None:
    plan = FaultPlan(params=FaultParams(response_delay_s=2.0))
    assert plan.default_kind == "delay"
    assert kinds(faults_for(plan), 3) == ["delay", "delay", "delay"]


def test_response_delay_only_applies_to_named_delay_steps_when_delay_is_named() -> None:
    plan = FaultPlan(script=("delay",), params=FaultParams(response_delay_s=2.0))
    assert plan.default_kind == "ok"
    assert kinds(faults_for(plan), 3) == ["delay", "ok", "ok"]


def test_latency_jitter_is_drawn_within_its_bound() -> None:
    faults = faults_for(FaultPlan(params=FaultParams(latency_jitter_s=0.5)))
    draws = [faults.latency_jitter_s() for _ in range(200)]
    assert all(0.0 <= d <= 0.5 for d in draws)
    assert len(set(draws)) > 1


def test_snapshot_shows_progress_through_the_plan() -> None:
    plan = FaultPlan(script=("429", "500"), outage=Outage(5.0, "503"))
    faults = faults_for(plan)
    faults.next_fault(NOW + 6)
    snapshot = faults.snapshot(NOW + 6)
    assert snapshot["script_remaining"] == ["500"]
    assert snapshot["outage_remaining_seconds"] == 0.0
    assert snapshot["outage"] == {"duration_seconds": 5.0, "fault": "503"}


def test_board_installs_a_plan_for_one_provider_only() -> None:
    board = FaultBoard(seed=1, now=NOW)
    board.install(FaultPlan(script=("500",)), ("openai",), None, NOW)
    assert board["openai"].next_fault(NOW).kind == "500"
    assert board["anthropic"].next_fault(NOW).kind == "ok"


def test_board_reinstall_restarts_the_random_sequence_from_the_seed() -> None:
    board = FaultBoard(seed=1, now=NOW)
    plan = FaultPlan(probabilities=(("429", 0.5),))
    board.install(plan, ("openai",), 99, NOW)
    first = kinds(board["openai"], 30)
    board.install(plan, ("openai",), None, NOW)
    assert kinds(board["openai"], 30) == first
    assert board.seed == 99


def test_providers_draw_from_independent_sources() -> None:
    board = FaultBoard(seed=5, now=NOW)
    plan = FaultPlan(probabilities=(("500", 0.5),))
    board.install(plan, ("openai", "anthropic"), None, NOW)
    alone = kinds(board["openai"], 20)
    board.install(plan, ("openai", "anthropic"), None, NOW)
    interleaved = []
    for _ in range(20):
        board["anthropic"].next_fault(NOW)
        interleaved.append(board["openai"].next_fault(NOW).kind)
    assert interleaved == alone


def test_board_reset_restores_healthy_plans_and_the_start_up_seed() -> None:
    board = FaultBoard(seed=3, now=NOW)
    board.install(FaultPlan(script=("500",)), ("openai", "anthropic"), 11, NOW)
    board.reset(NOW)
    assert board.seed == 3
    assert board["openai"].plan == HEALTHY_PLAN
    assert board["anthropic"].next_fault(NOW).kind == "ok"
