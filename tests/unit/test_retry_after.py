"""Retry-After parsing: milliseconds preferred, then seconds or an HTTP-date, garbage ignored."""

from __future__ import annotations

from email.utils import formatdate

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from orchestrator.providers.retry_after import retry_after_s

NOW = 1_700_000_000.0


def fixed_now() -> float:
    return NOW


def test_no_header_means_no_wait_was_asked() -> None:
    assert retry_after_s({}, fixed_now) is None


def test_seconds_are_read_as_seconds() -> None:
    assert retry_after_s({"Retry-After": "7"}, fixed_now) == 7.0


def test_fractional_seconds_are_kept() -> None:
    assert retry_after_s({"retry-after": "0.25"}, fixed_now) == 0.25


def test_milliseconds_header_is_read_as_milliseconds() -> None:
    assert retry_after_s({"retry-after-ms": "1500"}, fixed_now) == 1.5


def test_milliseconds_win_over_seconds() -> None:
    assert retry_after_s({"Retry-After": "10", "retry-after-ms": "250"}, fixed_now) == 0.25


def test_http_date_becomes_the_seconds_until_that_time() -> None:
    date = formatdate(NOW + 30, usegmt=True)
    assert retry_after_s({"Retry-After": date}, fixed_now) == pytest.approx(30.0)


def test_http_date_in_the_past_means_now() -> None:
    date = formatdate(NOW - 120, usegmt=True)
    assert retry_after_s({"Retry-After": date}, fixed_now) == 0.0


def test_http_date_without_a_zone_is_taken_as_gmt() -> None:
    date = formatdate(NOW + 5, usegmt=True).replace(" GMT", " -0000")
    assert retry_after_s({"Retry-After": date}, fixed_now) == pytest.approx(5.0)


@pytest.mark.parametrize("value", ["soon", "", "nan", "inf", "1,5", "Wed, 99 Foo"])
def test_garbage_retry_after_is_ignored(value: str) -> None:
    assert retry_after_s({"Retry-After": value}, fixed_now) is None


def test_garbage_milliseconds_fall_back_to_retry_after() -> None:
    headers = {"retry-after-ms": "later", "Retry-After": "3"}
    assert retry_after_s(headers, fixed_now) == 3.0


@pytest.mark.parametrize(
    "headers", [{"Retry-After": "-5"}, {"retry-after-ms": "-100"}], ids=["seconds", "ms"]
)
def test_negative_delay_is_clamped_to_zero(headers: dict[str, str]) -> None:
    assert retry_after_s(headers, fixed_now) == 0.0


def test_header_names_match_case_insensitively_in_a_plain_dict() -> None:
    assert retry_after_s({"RETRY-AFTER-MS": "40"}, fixed_now) == 0.04


def test_aiohttp_style_case_insensitive_headers_are_read() -> None:
    headers = CIMultiDictProxy(CIMultiDict({"Retry-After": "2"}))
    assert retry_after_s(headers, fixed_now) == 2.0
