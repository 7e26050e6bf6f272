"""Every reliability policy as a frozen dataclass of numbers with units in the names.

Retry, backoff, breaker, deadline and stream limits live here, each validated when it is
built by one helper, :func:`require`, so a bad value fails at start-up with the key and the
value in the message (``breaker.open_duration_s=-1 must be > 0``). The configuration loader
builds them; nothing else constructs them outside tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final, Literal, get_args

DEFAULT_BACKOFF_BASE_S: Final = 2.0
DEFAULT_BACKOFF_MULTIPLIER: Final = 2.0
DEFAULT_BACKOFF_CAP_S: Final = 30.0
DEFAULT_MAX_ATTEMPTS_TOTAL: Final = 6
DEFAULT_MAX_ATTEMPTS_PER_DEPLOYMENT: Final = 3
DEFAULT_SHORT_RETRY_AFTER_MAX_S: Final = 2.0
# Tell dead from degraded: a dead deployment fails every call, so the rate rule (90% of at
# least 10 calls) ejects it within 10; one failing half its calls almost never reaches 90%
# of 20, nor 20 failures in a row (the backstop), so it stays in service.
DEFAULT_FAILURE_THRESHOLD: Final = 20
DEFAULT_FAILURE_RATE_THRESHOLD: Final = 0.9
DEFAULT_SLOW_CALL_RATE_THRESHOLD: Final = 0.8
DEFAULT_OPEN_DURATION_S: Final = 30.0
DEFAULT_HALF_OPEN_MAX_PROBES: Final = 1
DEFAULT_BUDGET_MIN_RETRIES_PER_S: Final = 1.0
DEFAULT_BUDGET_WINDOW_S: Final = 10.0
# Recovery is judged on a handful of calls, not one: 4 of 5 must succeed (one unlucky probe
# does not cost another cool-down, two do), and the calls admitted at once grow by one with
# each success, so a half-healed provider is not flooded.
DEFAULT_HALF_OPEN_CALLS: Final = 5
DEFAULT_HALF_OPEN_SUCCESS_RATE: Final = 0.8
# When every deployment a request may use is open, one request a second per deployment still
# goes out as a probe (the rest get 503 at once): recovery is noticed before the cool-down.
DEFAULT_ALL_OPEN_PROBE_INTERVAL_S: Final = 1.0
DEFAULT_BREAKER_WINDOW_SIZE: Final = 20
DEFAULT_MIN_CALLS_IN_WINDOW: Final = 10
DEFAULT_REQUEST_DEADLINE_S: Final = 60.0
DEFAULT_STREAM_FIRST_TOKEN_TIMEOUT_S: Final = 10.0
DEFAULT_STREAM_IDLE_TIMEOUT_S: Final = 30.0
DEFAULT_STREAM_MAX_DURATION_S: Final = 600.0

# relay: tokens reach the client as they arrive; buffered: the answer is held until it is
# whole, so a failure mid-answer can still fail over (the first token comes at the end).
StreamMode = Literal["relay", "buffered"]
STREAM_MODES: Final[frozenset[str]] = frozenset(get_args(StreamMode))
DEFAULT_STREAM_MODE: Final[StreamMode] = "relay"
STREAM_MODE_FIELD: Final = "stream_mode"
"""The request field that picks a stream mode for one request (validated on the way in)."""


class PolicyError(ValueError):
    """A policy value is out of range; the message names the key and the bad value."""


def require(ok: bool, key: str, value: object, rule: str) -> None:
    """The one validation helper: raise :class:`PolicyError` as ``key=value rule``."""
    if not ok:
        raise PolicyError(f"{key}={value!r} {rule}")


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    base_s: float = DEFAULT_BACKOFF_BASE_S
    multiplier: float = DEFAULT_BACKOFF_MULTIPLIER
    cap_s: float = DEFAULT_BACKOFF_CAP_S

    def __post_init__(self) -> None:
        require(self.base_s >= 0, "backoff.base_s", self.base_s, "must be >= 0")
        require(self.multiplier >= 1, "backoff.multiplier", self.multiplier, "must be >= 1")
        require(self.cap_s >= self.base_s, "backoff.cap_s", self.cap_s, "must be >= base_s")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts_total: int = DEFAULT_MAX_ATTEMPTS_TOTAL
    max_attempts_per_deployment: int = DEFAULT_MAX_ATTEMPTS_PER_DEPLOYMENT
    # A 429 whose Retry-After is at most this long is waited out on the same deployment.
    short_retry_after_max_s: float = DEFAULT_SHORT_RETRY_AFTER_MAX_S
    backoff: BackoffPolicy = field(default_factory=BackoffPolicy)
    # The retry budget (engine/retry_budget.py), off when None: a deployment takes retries
    # up to this share of its first-hand requests over the window, plus a floor a second.
    budget_ratio: float | None = None
    budget_min_retries_per_s: float = DEFAULT_BUDGET_MIN_RETRIES_PER_S
    budget_window_s: float = DEFAULT_BUDGET_WINDOW_S

    def __post_init__(self) -> None:
        ratio = self.budget_ratio
        require(
            ratio is None or ratio > 0, "retry.budget_ratio", ratio, "must be > 0 (or left out)"
        )
        require(
            self.budget_min_retries_per_s >= 0,
            "retry.budget_min_retries_per_s",
            self.budget_min_retries_per_s,
            "must be >= 0",
        )
        require(
            self.budget_window_s >= 1,
            "retry.budget_window_s",
            self.budget_window_s,
            "must be >= 1",
        )
        for key, value in (
            ("max_attempts_total", self.max_attempts_total),
            ("max_attempts_per_deployment", self.max_attempts_per_deployment),
        ):
            require(value >= 1, f"retry.{key}", value, "must be >= 1")
        require(
            self.short_retry_after_max_s >= 0,
            "retry.short_retry_after_max_s",
            self.short_retry_after_max_s,
            "must be >= 0",
        )


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    failure_threshold: int = DEFAULT_FAILURE_THRESHOLD  # consecutive failures that open it
    open_duration_s: float = DEFAULT_OPEN_DURATION_S  # cool-down before half-open
    half_open_max_probes: int = DEFAULT_HALF_OPEN_MAX_PROBES  # calls admitted while half-open
    # Second trip rule: open once this share of the last `window_size` outcomes failed,
    # counted only after `min_calls_in_window` outcomes, so that one failure out of two
    # calls does not read as an outage. None: consecutive failures only.
    failure_rate_threshold: float | None = DEFAULT_FAILURE_RATE_THRESHOLD
    window_size: int = DEFAULT_BREAKER_WINDOW_SIZE
    min_calls_in_window: int = DEFAULT_MIN_CALLS_IN_WINDOW
    # Open, like failures do, once this share of the window's calls were slow (slower than
    # the provider's slow_call_duration_s; providers without one have no slow calls).
    slow_call_rate_threshold: float = DEFAULT_SLOW_CALL_RATE_THRESHOLD
    # Half-open: closes once a success rate is reached over this many calls, reopens once it
    # no longer can be; the calls admitted at once start at half_open_max_probes.
    half_open_calls: int = DEFAULT_HALF_OPEN_CALLS
    half_open_success_rate: float = DEFAULT_HALF_OPEN_SUCCESS_RATE
    # Every deployment of a request refusing: one probe per deployment per interval goes out
    # before the cool-down ends (None: none, every such request gets 503 at once).
    all_open_probe_interval_s: float | None = DEFAULT_ALL_OPEN_PROBE_INTERVAL_S

    @property
    def half_open_successes_needed(self) -> int:
        return max(1, math.ceil(self.half_open_success_rate * self.half_open_calls - 1e-9))

    @property
    def half_open_failures_allowed(self) -> int:
        return self.half_open_calls - self.half_open_successes_needed

    def __post_init__(self) -> None:
        require(
            self.half_open_calls >= 1,
            "breaker.half_open_calls",
            self.half_open_calls,
            "must be >= 1",
        )
        require(
            0 < self.half_open_success_rate <= 1,
            "breaker.half_open_success_rate",
            self.half_open_success_rate,
            "must be > 0 and <= 1",
        )
        interval = self.all_open_probe_interval_s
        require(
            interval is None or interval > 0,
            "breaker.all_open_probe_interval_s",
            interval,
            "must be > 0 (or left out)",
        )
        require(
            self.failure_threshold >= 1,
            "breaker.failure_threshold",
            self.failure_threshold,
            "must be >= 1",
        )
        require(
            self.open_duration_s > 0, "breaker.open_duration_s", self.open_duration_s, "must be > 0"
        )
        require(
            self.half_open_max_probes >= 1,
            "breaker.half_open_max_probes",
            self.half_open_max_probes,
            "must be >= 1",
        )
        rate = self.failure_rate_threshold
        require(
            rate is None or 0 < rate <= 1,
            "breaker.failure_rate_threshold",
            rate,
            "must be > 0 and <= 1 (or left out)",
        )
        require(self.window_size >= 1, "breaker.window_size", self.window_size, "must be >= 1")
        require(
            0 < self.slow_call_rate_threshold <= 1,
            "breaker.slow_call_rate_threshold",
            self.slow_call_rate_threshold,
            "must be > 0 and <= 1",
        )
        require(
            1 <= self.min_calls_in_window <= self.window_size,
            "breaker.min_calls_in_window",
            self.min_calls_in_window,
            f"must be >= 1 and <= window_size ({self.window_size})",
        )


@dataclass(frozen=True, slots=True)
class DeadlinePolicy:
    request_deadline_s: float = DEFAULT_REQUEST_DEADLINE_S  # every attempt and backoff fit in

    def __post_init__(self) -> None:
        require(
            self.request_deadline_s > 0,
            "deadline.request_deadline_s",
            self.request_deadline_s,
            "must be > 0",
        )


@dataclass(frozen=True, slots=True)
class StreamPolicy:
    """Limits of a streamed answer (``[stream]``, or a route's ``stream_*`` keys).

    ``first_token_timeout_s`` bounds the wait for the first content token of an attempt
    (and the request deadline bounds it too); ``idle_timeout_s`` bounds the time without
    progress (content, a finish, usage: keep-alive comments, pings and empty events do not
    count) once the stream is flowing; ``max_duration_s`` bounds a relayed stream's length.
    """

    first_token_timeout_s: float = DEFAULT_STREAM_FIRST_TOKEN_TIMEOUT_S
    idle_timeout_s: float = DEFAULT_STREAM_IDLE_TIMEOUT_S
    mode: StreamMode = DEFAULT_STREAM_MODE
    max_duration_s: float = DEFAULT_STREAM_MAX_DURATION_S

    def __post_init__(self) -> None:
        for key, value in (
            ("first_token_timeout_s", self.first_token_timeout_s),
            ("idle_timeout_s", self.idle_timeout_s),
            ("max_duration_s", self.max_duration_s),
        ):
            require(value > 0, f"stream.{key}", value, "must be > 0")
        require(
            self.mode in STREAM_MODES, "stream.mode", self.mode, "must be 'relay' or 'buffered'"
        )
