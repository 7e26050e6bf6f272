"""The pure rule that decides when a closed breaker opens."""

from __future__ import annotations

from orchestrator.policies import BreakerPolicy


def should_trip(
    consecutive_failures: int, window_calls: int, window_failures: int, policy: BreakerPolicy
) -> bool:
    """Open after N consecutive failures, or (if set) a failure rate over a full enough window."""
    if consecutive_failures >= policy.failure_threshold:
        return True
    threshold = policy.failure_rate_threshold
    return (
        threshold is not None
        and window_calls >= policy.min_calls_in_window
        and window_failures >= threshold * window_calls
    )
