"""The pure rule that decides when a closed breaker opens."""

from __future__ import annotations

from orchestrator.policies import BreakerPolicy


def should_trip(
    consecutive_failures: int,
    window_calls: int,
    window_failures: int,
    policy: BreakerPolicy,
    window_slow_calls: int = 0,
) -> bool:
    """Open after N consecutive failures, or (over a full enough window) a failure rate or a
    slow-call rate at its threshold."""
    if consecutive_failures >= policy.failure_threshold:
        return True
    if window_calls < policy.min_calls_in_window:
        return False
    threshold = policy.failure_rate_threshold
    if threshold is not None and window_failures >= threshold * window_calls:
        return True
    return window_slow_calls > 0 and window_slow_calls >= (
        policy.slow_call_rate_threshold * window_calls
    )
