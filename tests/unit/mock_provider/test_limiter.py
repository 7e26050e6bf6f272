from __future__ import annotations

import pytest

from mock_provider.limiter import SlidingWindowLimiter


def test_admits_up_to_the_limit_then_refuses() -> None:
    limiter = SlidingWindowLimiter(limit=3, window_s=60.0)
    assert [limiter.try_acquire(100.0) for _ in range(3)] == [None, None, None]
    assert limiter.try_acquire(100.0) == 60


def test_retry_after_counts_down_to_when_the_oldest_request_leaves_the_window() -> None:
    limiter = SlidingWindowLimiter(limit=2, window_s=60.0)
    limiter.try_acquire(0.0)
    limiter.try_acquire(10.0)
    assert limiter.try_acquire(45.5) == 15  # 14.5 s rounded up: earlier would be refused
    assert limiter.try_acquire(59.9) == 1


def test_window_slides_so_a_request_is_admitted_once_the_oldest_ages_out() -> None:
    limiter = SlidingWindowLimiter(limit=2, window_s=60.0)
    limiter.try_acquire(0.0)
    limiter.try_acquire(10.0)
    assert limiter.try_acquire(60.0) is None
    assert limiter.try_acquire(60.0) == 10


def test_refused_requests_do_not_occupy_the_window() -> None:
    limiter = SlidingWindowLimiter(limit=1, window_s=60.0)
    limiter.try_acquire(0.0)
    for second in range(1, 60):
        assert limiter.try_acquire(float(second)) is not None
    assert limiter.try_acquire(60.0) is None


def test_remaining_reports_free_slots_in_the_current_window() -> None:
    limiter = SlidingWindowLimiter(limit=3, window_s=60.0)
    limiter.try_acquire(0.0)
    assert limiter.remaining(30.0) == 2
    assert limiter.remaining(60.0) == 3
    assert limiter.reset_after_s(61.0) == 0.0


@pytest.mark.parametrize(("limit", "window_s"), [(0, 60.0), (1, 0.0)])
def test_rejects_a_limit_or_window_that_cannot_work(limit: int, window_s: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        SlidingWindowLimiter(limit=limit, window_s=window_s)
