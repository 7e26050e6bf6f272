"""One deployment's circuit breaker, with the clock injected.

States: CLOSED -> OPEN after ``failure_threshold`` consecutive failures (or, when the
policy sets one, a failure rate over a window) -> HALF_OPEN once ``open_duration_s`` has
passed, admitting at most ``half_open_max_probes`` calls at a time -> CLOSED on a success,
OPEN again (a fresh cool-down) on a failure. FORCED_OPEN is an operator's drain: no calls,
no probes, until :meth:`CircuitBreaker.reset`. Client errors are neutral: they neither trip
nor heal.

Methods are named for when they run: ``before_call`` before an attempt, then exactly one
of ``on_success``, ``on_failure`` or ``on_neutral`` after it (the registry picks which).
Reads never change anything: :attr:`~CircuitBreaker.state` reports HALF_OPEN once the
cool-down is over, but the transition (and its listener) happens at the next write, the
first ``before_call`` after it. So ``/health``, ``/metrics`` scrapes and the router only
look. Everything is synchronous and runs on the event loop: no lock, no waiting.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from orchestrator.breaker.rules import should_trip
from orchestrator.breaker.window import OutcomeWindow
from orchestrator.policies import BreakerPolicy


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"
    FORCED_OPEN = "forced_open"  # drained by an operator: closed to traffic until reset


REFUSING: frozenset[BreakerState] = frozenset({BreakerState.OPEN, BreakerState.FORCED_OPEN})
"""States in which no call goes out (the router skips such deployments)."""

TransitionListener = Callable[[str, BreakerState, BreakerState], None]


class CircuitBreaker:
    """One deployment's breaker. See the module docstring for the state machine."""

    __slots__ = (
        "_clock",
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
        self._probes_in_flight = 0
        self._last_probe_at = 0.0
        self.consecutive_failures = 0
        self.opened_at: float | None = None

    # -- reads ----------------------------------------------------------------------------

    @property
    def state(self) -> BreakerState:
        """The state as of now; an OPEN breaker past its cool-down reads as HALF_OPEN."""
        if self._state is BreakerState.OPEN and self._cool_down_over():
            return BreakerState.HALF_OPEN
        return self._state

    def next_probe_at(self) -> float | None:
        """When OPEN: the clock time probes will be admitted; None otherwise (or drained)."""
        if self.state is not BreakerState.OPEN or self.opened_at is None:
            return None
        return self.opened_at + self.policy.open_duration_s

    def would_admit(self) -> bool:
        """Would :meth:`before_call` say yes now? A read: no probe slot is taken."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is not BreakerState.HALF_OPEN:
            return False
        probes = self._probes_in_flight if state is self._state else 0
        return probes < self.policy.half_open_max_probes

    def snapshot(self) -> dict[str, object]:
        state = self.state
        return {
            "state": state.value,
            "consecutive_failures": self.consecutive_failures,
            "opened_at": self.opened_at,
            "next_probe_at": self.next_probe_at(),
            "forced_open": state is BreakerState.FORCED_OPEN,
            "probes_in_flight": self._probes_in_flight if state is self._state else 0,
            "window_calls": self._window.calls,
            "window_failures": self._window.failures,
            "window_slow_calls": self._window.slow_calls,
        }

    # -- writes ---------------------------------------------------------------------------

    def before_call(self) -> bool:
        """May an attempt go out now? In HALF_OPEN a True reserves one probe slot."""
        state = self._advance()
        if state is BreakerState.CLOSED:
            return True
        if state is not BreakerState.HALF_OPEN:
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

    def on_success(self, slow: bool = False) -> None:
        """A healthy answer; ``slow`` when it took longer than the provider's slow-call limit
        (a slow probe does not close a half-open breaker: it counts as a failure)."""
        state = self._advance()
        if state is BreakerState.HALF_OPEN:
            if slow:
                self._open(BreakerState.OPEN)
            else:
                self._close()
        elif state is BreakerState.CLOSED:
            self.consecutive_failures = 0
            self._window.record(False, slow)
            if slow:
                self._trip_if_due()
        # OPEN: a late answer to a call admitted before the breaker opened; only probes heal.

    def on_failure(self, slow: bool = False) -> None:
        state = self._advance()
        if state is BreakerState.HALF_OPEN:
            self.consecutive_failures += 1
            self._open(BreakerState.OPEN)
        elif state is BreakerState.CLOSED:
            self.consecutive_failures += 1
            self._window.record(True, slow)
            self._trip_if_due()
        # OPEN: a late failure of a call admitted earlier; the cool-down already runs.

    def _trip_if_due(self) -> None:
        window = self._window
        if should_trip(
            self.consecutive_failures, window.calls, window.failures, self.policy, window.slow_calls
        ):
            self._open(BreakerState.OPEN)

    def on_neutral(self) -> None:
        """A client error or a cancelled attempt: frees a probe slot, changes nothing else."""
        if self._advance() is BreakerState.HALF_OPEN and self._probes_in_flight:
            self._probes_in_flight -= 1

    def force_open(self) -> None:
        """Admin drain: FORCED_OPEN, no calls and no probes until :meth:`reset`."""
        self._open(BreakerState.FORCED_OPEN)

    def reset(self) -> None:
        """Admin: back to CLOSED with every count cleared."""
        self._close()

    # -- internals ------------------------------------------------------------------------

    def _advance(self) -> BreakerState:
        """Make the state the reads report the real one (OPEN -> HALF_OPEN after cool-down)."""
        state = self.state
        if state is not self._state:
            self._probes_in_flight = 0
            self._transition(state)
        return state

    def _cool_down_over(self) -> bool:
        return (
            self.opened_at is not None
            and self._clock() >= self.opened_at + self.policy.open_duration_s
        )

    def _open(self, state: BreakerState) -> None:
        self.opened_at = self._clock()
        self._probes_in_flight = 0
        self._transition(state)

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
