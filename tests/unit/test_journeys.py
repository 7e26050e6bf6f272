"""The bounded journey store: what a journey shows, and which journeys it keeps."""

from __future__ import annotations

import pytest

from orchestrator.decision import Decision, Outcome
from orchestrator.engine import EngineResult, Failure, NullObserver
from orchestrator.requests import RoutedRequest
from orchestrator.routing.router import Deployment, RoutePlan
from orchestrator.telemetry.journeys import Journey, JourneyStore, Rejection
from tests.unit.observer_support import ANTHROPIC, E500, OK, OPENAI, R429, EngineHarness

RECEIVED_AT = 1_700_000_000.0


def _journey(request_id: str) -> Journey:
    return Journey(request_id, "gpt-4", RECEIVED_AT, Rejection(400, "bad", "model", "invalid"))


def test_store_evicts_the_oldest_journey_when_full() -> None:
    store = JourneyStore(capacity=2)
    for request_id in ("a", "b", "c"):
        store.add(_journey(request_id))
    assert store.get("a") is None
    assert store.get("b") is not None
    assert store.get("c") is not None
    assert len(store) == 2


def test_reused_request_id_replaces_the_old_journey_and_becomes_newest() -> None:
    store = JourneyStore(capacity=2)
    store.add(_journey("a"))
    store.add(_journey("b"))
    replacement = Journey("a", "gpt-4o", RECEIVED_AT, Rejection(400, "x", None, None))
    store.add(replacement)
    store.add(_journey("c"))  # evicts "b", now the oldest
    assert store.get("a") is replacement
    assert store.get("b") is None
    assert len(store) == 2


def test_unknown_request_id_is_not_found() -> None:
    assert JourneyStore(capacity=1).get("nope") is None


def test_capacity_below_one_is_refused_with_the_value() -> None:
    with pytest.raises(ValueError, match="capacity=0"):
        JourneyStore(capacity=0)


async def test_journey_shows_every_attempt_with_decision_backoff_and_start_offset() -> None:
    store = JourneyStore(capacity=10)
    harness = EngineHarness(_Recorder(store), {OPENAI: [E500, R429]})
    await harness.run("req-7", preferred_provider="openai")
    body = store.get("req-7")
    assert body is not None
    journey = body.to_json()
    assert journey["status"] == 200
    assert journey["outcome"] == "success"
    assert journey["served_by"] == ANTHROPIC
    assert journey["preferred_provider"] == "openai"
    log = journey["attempt_log"]
    assert [(a["provider"], a["outcome"], a["decision"]) for a in log] == [
        ("openai", "server_error", "retry_same"),
        ("openai", "rate_limited", "failover"),
        ("anthropic", "success", "return"),
    ]
    # The second attempt waited 0.5 s (full jitter, random 0.5, base 1 s) after a 0.1 s call.
    assert log[1]["backoff_ms"] == 500.0
    assert [a["started_at_ms"] for a in log] == [0.0, 600.0, 650.0]
    assert journey["total_latency_ms"] == pytest.approx(650.0 + OK.latency_s * 1000.0)
    assert journey["error"] is None


async def test_failed_journey_carries_the_error_and_the_status_the_caller_got() -> None:
    store = JourneyStore(capacity=10)
    harness = EngineHarness(_Recorder(store), {OPENAI: [E500], ANTHROPIC: [E500]})
    result = await harness.run("req-fail")
    assert isinstance(result, Failure)
    journey = store.get("req-fail")
    assert journey is not None
    body = journey.to_json()
    assert (body["status"], body["outcome"], body["provider"]) == (502, "failure", None)
    assert body["error"]["code"] == "upstream_failed"
    assert body["error"]["provider_error"]["provider"] == "anthropic"
    assert body["attempts"] == len(result.attempts)


def test_rejected_journey_names_the_field_at_fault_and_has_no_attempts() -> None:
    store = JourneyStore(capacity=1)
    rejection = Rejection(400, "Invalid value: 'wizard'.", "messages[0].role", "invalid_value")
    store.record_rejection("req-bad", None, rejection, RECEIVED_AT)
    journey = store.get("req-bad")
    assert journey is not None
    body = journey.to_json()
    assert (body["status"], body["outcome"], body["attempts"]) == (400, "rejected", 0)
    assert body["error"] == {
        "message": "Invalid value: 'wizard'.",
        "param": "messages[0].role",
        "code": "invalid_value",
    }
    assert body["attempt_log"] == []


class _Recorder(NullObserver):
    """Only what the journey store needs from the engine's observer calls."""

    def __init__(self, store: JourneyStore) -> None:
        self.store = store

    def on_attempt(self, deployment: Deployment, outcome: Outcome, decision: Decision) -> None:
        pass

    def on_wait(self, deployment: Deployment | None, wait_s: float, reason: str) -> None:
        pass

    def on_failover(self, left: Deployment, to: Deployment) -> None:
        pass

    def on_route(self, model: str, plan: RoutePlan) -> None:
        pass

    def on_result(self, request: RoutedRequest, request_id: str, result: EngineResult) -> None:
        self.store.record_result(request, request_id, result, RECEIVED_AT)


def test_the_store_is_bounded_by_bytes_as_well_as_by_count() -> None:
    store = JourneyStore(capacity=1_000, max_bytes=20_000)
    long_message = "x" * 4_000  # what a hostile provider's error message can be
    for index in range(50):
        rejection = Rejection(400, long_message, "messages", "invalid_value")
        store.add(Journey(f"req-{index}", "gpt-4", 0.0, rejection))
    assert store.estimated_bytes <= 20_000
    assert 2 <= len(store) < 50
    assert store.get("req-49") is not None  # the newest stay, the oldest went
    assert store.get("req-0") is None
