"""One deployment's circuit breaker, with the clock injected.

States: CLOSED -> OPEN after ``failure_threshold`` consecutive failures (or, when the
policy sets one, a failure rate over a window) -> HALF_OPEN once ``open_duration_s`` has
passed. Half-open recovery is gradual: at first ``half_open_max_probes`` calls at a time,
one more with each success; CLOSED once ``half_open_success_rate`` of ``half_open_calls``
calls succeeded, OPEN again (a fresh cool-down) once that rate can no longer be reached --
so one unlucky probe does not cost another cool-down, and one lucky one does not close it.
While OPEN, :meth:`CircuitBreaker.early_probe` lets one call through per
``all_open_probe_interval_s`` for a request that has nowhere else to go; its success starts
half-open at once, its failure leaves the cool-down as it was. FORCED_OPEN is an operator's
drain: no calls, no probes, until :meth:`CircuitBreaker.reset`. Client errors are neutral:
they neither trip nor heal.

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
        "_early_probe_at",
        "_early_probe_out",
        "_half_open_failures",
        "_half_open_successes",
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
        self._half_open_successes = 0
        self._half_open_failures = 0
        self._early_probe_at = float("-inf")
        self._early_probe_out = False
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
        return probes < self._probe_limit()

    def early_probe_due(self) -> bool:
        """Would :meth:`early_probe` let a call through now? A read."""
        every_s = self.policy.all_open_probe_interval_s
        if every_s is None or self.state is not BreakerState.OPEN or self._early_probe_out:
            return False
        return self._clock() - self._early_probe_at >= every_s

    def snapshot(self) -> dict[str, object]:
        state = self.state
        return {
            "state": state.value,
            "consecutive_failures": self.consecutive_failures,
            "opened_at": self.opened_at,
            "next_probe_at": self.next_probe_at(),
            "forced_open": state is BreakerState.FORCED_OPEN,
            "probes_in_flight": self._probes_in_flight if state is self._state else 0,
            "half_open_successes": self._half_open_successes if state is self._state else 0,
            "half_open_failures": self._half_open_failures if state is self._state else 0,
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
        if self._probes_in_flight >= self._probe_limit():
            return False
        self._probes_in_flight += 1
        self._last_probe_at = now
        return True

    def early_probe(self) -> bool:
        """While OPEN, for a request every other deployment refused too: one call per
        ``all_open_probe_interval_s`` goes out (True), recorded like any call."""
        self._advance()
        if not self.early_probe_due():
            return False
        self._early_probe_at = self._clock()
        self._early_probe_out = True
        return True

    def on_success(self, slow: bool = False) -> None:
        """A healthy answer; ``slow`` when it took longer than the provider's slow-call limit
        (a slow probe does not close a half-open breaker: it counts as a failure)."""
        state = self._advance()
        if state is BreakerState.HALF_OPEN:
            self._free_probe_slot()
            if slow:
                self._half_open_failed()
            else:
                self._half_open_succeeded()
        elif state is BreakerState.CLOSED:
            self.consecutive_failures = 0
            self._window.record(False, slow)
            if slow:
                self._trip_if_due()
        elif state is BreakerState.OPEN and self._early_probe_out:
            self._early_probe_out = False
            if not slow:  # the provider answers again: recovery starts now, not at cool-down
                self._transition(BreakerState.HALF_OPEN)
                self._half_open_succeeded()
        # Otherwise OPEN: a late answer to a call admitted before it opened; only probes heal.

    def on_failure(self, slow: bool = False) -> None:
        state = self._advance()
        if state is BreakerState.HALF_OPEN:
            self.consecutive_failures += 1
            self._free_probe_slot()
            self._half_open_failed()
        elif state is BreakerState.CLOSED:
            self.consecutive_failures += 1
            self._window.record(True, slow)
            self._trip_if_due()
        elif state is BreakerState.OPEN:
            # An early probe that failed leaves the cool-down as it was; a late failure of a
            # call admitted before it opened changes nothing either.
            self._early_probe_out = False

    def _trip_if_due(self) -> None:
        window = self._window
        if should_trip(
            self.consecutive_failures, window.calls, window.failures, self.policy, window.slow_calls
        ):
            self._open(BreakerState.OPEN)

    def on_neutral(self) -> None:
        """A client error or a cancelled attempt: frees a probe slot, changes nothing else."""
        state = self._advance()
        if state is BreakerState.HALF_OPEN:
            self._free_probe_slot()
        elif state is BreakerState.OPEN:
            self._early_probe_out = False

    def force_open(self) -> None:
        """Admin drain: FORCED_OPEN, no calls and no probes until :meth:`reset`."""
        self._open(BreakerState.FORCED_OPEN)

    def reset(self) -> None:
        """Admin: back to CLOSED with every count cleared."""
        self._close()

    # -- internals ------------------------------------------------------------------------

    def _probe_limit(self) -> int:
        """Calls admitted at once while half-open: one more with each success so far."""
        return self.policy.half_open_max_probes + self._half_open_successes

    def _free_probe_slot(self) -> None:
        if self._probes_in_flight:
            self._probes_in_flight -= 1

    def _half_open_succeeded(self) -> None:
        self._half_open_successes += 1
        if self._half_open_successes >= self.policy.half_open_successes_needed:
            self._close()

    def _half_open_failed(self) -> None:
        self._half_open_failures += 1
        if self._half_open_failures > self.policy.half_open_failures_allowed:
            self._open(BreakerState.OPEN)

    def _advance(self) -> BreakerState:
        """Make the state the reads report the real one (OPEN -> HALF_OPEN after cool-down)."""
        state = self.state
        if state is not self._state:
            self._reset_recovery()
            self._transition(state)
        return state

    def _cool_down_over(self) -> bool:
        return (
            self.opened_at is not None
            and self._clock() >= self.opened_at + self.policy.open_duration_s
        )

    def _open(self, state: BreakerState) -> None:
        self.opened_at = self._clock()
        self._reset_recovery()
        self._transition(state)

    def _close(self) -> None:
        self.consecutive_failures = 0
        self.opened_at = None
        self._reset_recovery()
        self._window.clear()
        self._transition(BreakerState.CLOSED)

    def _reset_recovery(self) -> None:
        self._probes_in_flight = 0
        self._half_open_successes = 0
        self._half_open_failures = 0
        self._early_probe_out = False

    def _transition(self, new: BreakerState) -> None:
        old = self._state
        if old is new:
            return
        self._state = new
        if self._on_transition is not None:
            self._on_transition(self.name, old, new)
