from __future__ import annotations

from typing import Any

import pytest

from mock_provider.faults import HEALTHY_PLAN, FailNext, Outage
from mock_provider.plan_schema import ControlError, parse_plan_update


def test_empty_body_means_healthy_for_both_providers() -> None:
    update = parse_plan_update({})
    assert update.plan == HEALTHY_PLAN
    assert update.providers == ("openai", "anthropic")
    assert update.seed is None


def test_seed_keys_map_to_fault_kinds() -> None:
    update = parse_plan_update(
        {
            "timeout_probability": 0.1,
            "rate_limit_probability": 0.2,
            "server_error_probability": 0.3,
            "response_delay_seconds": 1.5,
            "timeout_duration_seconds": 4,
        }
    )
    assert dict(update.plan.probabilities) == {"timeout": 0.1, "429": 0.2, "500": 0.3}
    assert update.plan.params.response_delay_s == 1.5
    assert update.plan.params.timeout_duration_s == 4.0


def test_extensions_parse_into_the_plan() -> None:
    update = parse_plan_update(
        {
            "provider": "anthropic",
            "seed": 9,
            "script": ["429", "ok"],
            "fail_next": {"count": 2, "fault": "529"},
            "outage": {"duration_seconds": 3, "fault": "reset"},
            "rpm_limit": 10,
            "faults": {"stream_cut": 0.5},
            "retry_after_seconds": 2,
            "stream_cut_after_tokens": 7,
            "token_interval_seconds": 0.0,
        }
    )
    plan = update.plan
    assert update.providers == ("anthropic",)
    assert update.seed == 9
    assert plan.script == ("429", "ok")
    assert plan.fail_next == FailNext(2, "529")
    assert plan.outage == Outage(3.0, "reset")
    assert plan.rpm_limit == 10
    assert plan.probabilities == (("stream_cut", 0.5),)
    assert plan.params.retry_after_s == 2
    assert plan.params.stream_cut_after_tokens == 7
    assert plan.params.token_interval_s == 0.0


def test_fail_next_and_outage_have_default_faults() -> None:
    plan = parse_plan_update({"fail_next": {"count": 1}, "outage": {"duration_seconds": 1}}).plan
    assert plan.fail_next == FailNext(1, "500")
    assert plan.outage == Outage(1.0, "503")


def test_zero_probabilities_are_dropped() -> None:
    assert parse_plan_update({"faults": {"500": 0, "502": 0.0}}).plan.probabilities == ()


BAD_INPUTS: list[tuple[Any, str | None]] = [
    ([], None),
    ("text", None),
    ({"timeout_probability": 1.5}, "timeout_probability"),
    ({"rate_limit_probability": -0.1}, "rate_limit_probability"),
    ({"server_error_probability": "0.5"}, "server_error_probability"),
    ({"timeout_probability": True}, "timeout_probability"),
    ({"faults": {"timeout": 2}}, "faults.timeout"),
    ({"faults": {"explode": 0.1}}, "faults.explode"),
    ({"faults": [0.1]}, "faults"),
    ({"faults": {"500": 0.6, "502": 0.6}}, "faults"),
    ({"timeout_probability": 0.1, "faults": {"timeout": 0.1}}, "faults.timeout"),
    ({"script": ["429", "500", "bogus"]}, "script[2]"),
    ({"script": "429"}, "script"),
    ({"script": [429]}, "script[0]"),
    ({"provider": "gemini"}, "provider"),
    ({"provider": 1}, "provider"),
    ({"response_delay_seconds": -1}, "response_delay_seconds"),
    ({"timeout_duration_seconds": "30"}, "timeout_duration_seconds"),
    ({"retry_after_seconds": 1.5}, "retry_after_seconds"),
    ({"stall_seconds": -0.5}, "stall_seconds"),
    ({"stream_cut_after_tokens": -1}, "stream_cut_after_tokens"),
    ({"rpm_limit": 0}, "rpm_limit"),
    ({"rpm_limit": "10"}, "rpm_limit"),
    ({"seed": -1}, "seed"),
    ({"seed": 1.5}, "seed"),
    ({"fail_next": {"fault": "500"}}, "fail_next.count"),
    ({"fail_next": {"count": -1}}, "fail_next.count"),
    ({"fail_next": {"count": 1, "fault": "nope"}}, "fail_next.fault"),
    ({"fail_next": {"count": 1, "extra": 1}}, "fail_next.extra"),
    ({"fail_next": 3}, "fail_next"),
    ({"outage": {"duration_seconds": -5}}, "outage.duration_seconds"),
    ({"outage": {}}, "outage.duration_seconds"),
    ({"outage": {"duration_seconds": 5, "fault": 503}}, "outage.fault"),
    ({"timeout_probabilty": 0.5}, "timeout_probabilty"),
]


@pytest.mark.parametrize(("body", "param"), BAD_INPUTS)
def test_bad_input_names_the_field_at_fault(body: Any, param: str | None) -> None:
    with pytest.raises(ControlError) as caught:
        parse_plan_update(body)
    assert caught.value.param == param
    assert caught.value.to_json() == {"error": {"message": caught.value.message, "param": param}}
