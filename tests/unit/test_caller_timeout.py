"""The caller's timeout header becomes a deadline slightly below it."""

from __future__ import annotations

import pytest

from orchestrator.http.caller_timeout import BadTimeoutHeader, caller_deadline_s


def test_no_header_no_deadline() -> None:
    assert caller_deadline_s({}) is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"x-stainless-timeout": "600"}, 599.0),  # the SDKs' default: a second of margin
        ({"x-stainless-timeout": "10.0"}, 9.5),
        ({"x-stainless-timeout": "0.5"}, 0.45),
        ({"X-Request-Timeout": "30"}, 29.0),
        ({"X-Request-Timeout": "30", "x-stainless-timeout": "5"}, 29.0),  # ours first
    ],
)
def test_the_deadline_is_slightly_below_the_caller_s_timeout(
    headers: dict[str, str], expected: float
) -> None:
    assert caller_deadline_s(headers) == pytest.approx(expected)


@pytest.mark.parametrize("value", ["soon", "-1", "0", "inf", "nan"])
def test_a_malformed_x_request_timeout_is_refused(value: str) -> None:
    with pytest.raises(BadTimeoutHeader):
        caller_deadline_s({"X-Request-Timeout": value})


def test_a_malformed_sdk_timeout_is_ignored() -> None:
    assert caller_deadline_s({"x-stainless-timeout": "soon"}) is None
