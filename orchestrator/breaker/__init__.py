"""Circuit breakers per deployment, as in resilience4j and Polly: :mod:`.window` remembers
recent outcomes, :mod:`.rules` decides to trip, :mod:`.circuit` holds one breaker's state,
:mod:`.registry` holds them all and is the one writer of outcomes."""

from orchestrator.breaker.circuit import BreakerState, CircuitBreaker, TransitionListener
from orchestrator.breaker.registry import BreakerRegistry

__all__ = ["BreakerRegistry", "BreakerState", "CircuitBreaker", "TransitionListener"]
