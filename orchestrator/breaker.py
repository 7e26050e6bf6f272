"""Circuit breaker per deployment, with the clock injected.

Three small pieces, as in resilience4j and Polly: :class:`OutcomeWindow` remembers the
last outcomes, :func:`should_trip` is the pure rule that decides to open, and
:class:`CircuitBreaker` is the controller holding the state. Methods are named for when
they run: ``before_call`` before an attempt, then exactly one of ``on_success``,
``on_failure`` or ``on_neutral`` after it.

States: CLOSED -> OPEN after ``failure_threshold`` consecutive failures (or, when the
policy sets one, a failure rate over a window) -> HALF_OPEN once ``open_duration_s`` has
passed, admitting at most ``half_open_max_probes`` calls at a time -> CLOSED on a success,
OPEN again (a fresh cool-down) on a failure. Client errors are neutral: they neither trip
nor heal. The OPEN -> HALF_OPEN change needs no timer: it is observed the first time the
state is read after the cool-down.

Everything is synchronous and single-threaded by design: it runs on the event loop, so no
lock is needed and no call ever waits.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from enum import StrEnum
from types import MappingProxyType

from orchestrator.config import BreakerPolicy


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


TransitionListener = Callable[[str, BreakerState, BreakerState], None]


class OutcomeWindow:
    """The last ``size`` provider outcomes, with the failure count kept up to date in O(1)."""

    __slots__ = ("_failed", "_failures")

    def __init__(self, size: int) -> None:
        self._failed: deque[bool] = deque(maxlen=size)
        self._failures = 0

    def record(self, failed: bool) -> None:
        if len(self._failed) == self._failed.maxlen and self._failed[0]:
            self._failures -= 1  # the oldest outcome is about to fall out of the window
        self._failed.append(failed)
        self._failures += failed

    def clear(self) -> None:
        self._failed.clear()
        self._failures = 0

    @property
    def calls(self) -> int:
        return len(self._failed)

    @property
    def failures(self) -> int:
        return self._failures


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


class CircuitBreaker:
    """One deployment's breaker. See the module docstring for the state machine."""

    __slots__ = (
        "_clock",
        "_forced",
        "_last_probe_at",
        "_on_transition",
        "_probes_in_flight",
        "_state",
        "_window",
        "consecutive_failures",
        "name",
        "opened_at",
        "policy",
    )

    def __init__(
        self,
        name: str,
        policy: BreakerPolicy,
        clock: Callable[[], float],
        on_transition: TransitionListener | None = None,
    ) -> None:
        self.name = name
        self.policy = policy
        self._clock = clock
        self._on_transition = on_transition
        self._state = BreakerState.CLOSED
        self._window = OutcomeWindow(policy.window_size)
        self._forced = False
        self._probes_in_flight = 0
        self._last_probe_at = 0.0
        self.consecutive_failures = 0
        self.opened_at: float | None = None

    @property
    def state(self) -> BreakerState:
        if self._state is BreakerState.OPEN and self._cool_down_over():
            self._probes_in_flight = 0
            self._transition(BreakerState.HALF_OPEN)
        return self._state

    def next_probe_at(self) -> float | None:
        """When OPEN: the clock time probes will be admitted; None otherwise or when drained."""
        if self.state is not BreakerState.OPEN or self._forced or self.opened_at is None:
            return None
        return self.opened_at + self.policy.open_duration_s

    def before_call(self) -> bool:
        """May an attempt go out now? In HALF_OPEN a True reserves one probe slot."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.OPEN:
            return False
        now = self._clock()
        if self._probes_in_flight and now - self._last_probe_at >= self.policy.open_duration_s:
            # A probe whose caller vanished without reporting must not wedge the breaker
            # half-open for ever: after a further cool-down its slot is presumed lost.
            self._probes_in_flight = 0
        if self._probes_in_flight >= self.policy.half_open_max_probes:
            return False
        self._probes_in_flight += 1
        self._last_probe_at = now
        return True

    def on_success(self) -> None:
        state = self.state
        if state is BreakerState.HALF_OPEN:
            self._close()
        elif state is BreakerState.CLOSED:
            self.consecutive_failures = 0
            self._window.record(False)
        # OPEN: a late answer to a call admitted before the breaker opened; only probes heal.

    def on_failure(self) -> None:
        state = self.state
        if state is BreakerState.HALF_OPEN:
            self.consecutive_failures += 1
            self._open()
        elif state is BreakerState.CLOSED:
            self.consecutive_failures += 1
            self._window.record(True)
            if should_trip(
                self.consecutive_failures, self._window.calls, self._window.failures, self.policy
            ):
                self._open()
        # OPEN: a late failure of a call admitted earlier; the cool-down already runs.

    def on_neutral(self) -> None:
        """A client error or a cancelled attempt: frees a probe slot, changes nothing else."""
        if self.state is BreakerState.HALF_OPEN and self._probes_in_flight:
            self._probes_in_flight -= 1

    def force_open(self) -> None:
        """Admin drain: OPEN with no probes until :meth:`reset`."""
        self._forced = True
        self._open()

    def reset(self) -> None:
        """Admin: back to CLOSED with every count cleared."""
        self._forced = False
        self._close()

    def snapshot(self) -> dict[str, object]:
        state = self.state
        return {
            "state": state.value,
            "consecutive_failures": self.consecutive_failures,
            "opened_at": self.opened_at,
            "next_probe_at": self.next_probe_at(),
            "forced_open": self._forced,
            "probes_in_flight": self._probes_in_flight,
            "window_calls": self._window.calls,
            "window_failures": self._window.failures,
        }

    def _cool_down_over(self) -> bool:
        return (
            not self._forced
            and self.opened_at is not None
            and self._clock() >= self.opened_at + self.policy.open_duration_s
        )

    def _open(self) -> None:
        self.opened_at = self._clock()
        self._probes_in_flight = 0
        self._transition(BreakerState.OPEN)

    def _close(self) -> None:
        self.consecutive_failures = 0
        self.opened_at = None
        self._probes_in_flight = 0
        self._window.clear()
        self._transition(BreakerState.CLOSED)

    def _transition(self, new: BreakerState) -> None:
        old = self._state
        if old is new:
            return
        self._state = new
        if self._on_transition is not None:
            self._on_transition(self.name, old, new)


class BreakerRegistry:
    """One breaker per deployment key, created on first use, all sharing one policy and clock."""

    __slots__ = ("_breakers", "_clock", "_on_transition", "_policy")

    def __init__(
        self,
        policy: BreakerPolicy,
        clock: Callable[[], float],
        on_transition: TransitionListener | None = None,
    ) -> None:
        self._policy = policy
        self._clock = clock
        self._on_transition = on_transition
        self._breakers: dict[str, CircuitBreaker] = {}

    def get(self, deployment_key: str) -> CircuitBreaker:
        breaker = self._breakers.get(deployment_key)
        if breaker is None:
            breaker = CircuitBreaker(deployment_key, self._policy, self._clock, self._on_transition)
            self._breakers[deployment_key] = breaker
        return breaker

    def all(self) -> Mapping[str, CircuitBreaker]:
        return MappingProxyType(self._breakers)
