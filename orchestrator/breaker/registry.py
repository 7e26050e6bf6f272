"""Every deployment's breaker, and the one place where attempt outcomes are recorded.

Plain attempts, streamed attempts that failed before their commit point and streams that
ended after it all reach the breakers through :meth:`BreakerRegistry.record`, which reads
the decision table's breaker column: what counts as a failure is decided once, there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from orchestrator.breaker.circuit import CircuitBreaker, TransitionListener
from orchestrator.decision import DECISION_TABLE, BreakerEffect, OutcomeKind
from orchestrator.policies import BreakerPolicy


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

    def admit(self, deployment_key: str) -> bool:
        """Before an attempt: may it go out? (In HALF_OPEN, True holds a probe slot.)"""
        return self.get(deployment_key).before_call()

    def early_probe(self, deployment_key: str) -> bool:
        """While OPEN, for a request with nowhere else to go: may it go out as a probe?"""
        return self.get(deployment_key).early_probe()

    def record(self, deployment_key: str, kind: OutcomeKind, slow: bool = False) -> None:
        """After an attempt (or a stream's end): the outcome, as the decision table reads it;
        ``slow`` when the call took longer than its provider's slow-call limit."""
        breaker = self.get(deployment_key)
        match DECISION_TABLE[kind].breaker:
            case BreakerEffect.HEAL:
                breaker.on_success(slow)
            case BreakerEffect.TRIP:
                breaker.on_failure(slow)
            case BreakerEffect.NEUTRAL:
                breaker.on_neutral()

    def release(self, deployment_key: str) -> None:
        """The attempt was abandoned (the caller left): free its probe slot, judge nothing."""
        self.get(deployment_key).on_neutral()
