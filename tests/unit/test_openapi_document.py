"""The OpenAPI data file says what the code does: its enums are the code's own values."""

from __future__ import annotations

from typing import Any

from orchestrator.breaker import BreakerState
from orchestrator.decision import Action, OutcomeKind
from orchestrator.engine.hedge import CANCEL, HEDGE_LOST
from orchestrator.engine.loop import SKIP, SKIPPED_UNSUPPORTED
from orchestrator.http.openapi import openapi_document
from orchestrator.streaming.observer import StreamEnd
from shared.models import OPENAI_ROLES

SCHEMAS: dict[str, Any] = openapi_document()["components"]["schemas"]


def _enum(schema: dict[str, Any]) -> list[str]:
    if "enum" in schema:
        return list(schema["enum"])
    return next(_enum(option) for option in schema["anyOf"] if "enum" in option)


def test_attempt_records_name_every_outcome_kind_and_decision() -> None:
    record = SCHEMAS["AttemptRecord"]["properties"]
    ours = [SKIPPED_UNSUPPORTED, HEDGE_LOST]
    assert _enum(record["outcome"]) == [kind.value for kind in OutcomeKind] + ours
    assert _enum(record["decision"]) == [action.value for action in Action] + [SKIP, CANCEL]


def test_breaker_states_are_the_breaker_s_own() -> None:
    found = [
        _enum(schema["properties"]["state"])
        for schema in SCHEMAS.values()
        if "state" in schema.get("properties", {}) and "enum" in str(schema["properties"]["state"])
    ]
    assert found
    assert all(states == [s.value for s in BreakerState] for states in found)


def test_message_roles_are_the_validator_s() -> None:
    roles = [
        _enum(schema["properties"]["role"])
        for schema in SCHEMAS.values()
        if "role" in schema.get("properties", {})
    ]
    assert sorted(OPENAI_ROLES) in roles


def test_a_journey_outcome_can_be_every_way_a_stream_ends() -> None:
    outcomes = set(SCHEMAS["Journey"]["properties"]["outcome"]["enum"])
    assert {end.value for end in StreamEnd if end is not StreamEnd.COMPLETED} <= outcomes
