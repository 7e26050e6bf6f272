"""Circuit breaker per deployment, with the clock injected.

CONTRACT (the engine and app code against it; implementation and tests to come):

    class BreakerState(StrEnum): CLOSED = "closed"; OPEN = "open"; HALF_OPEN = "half_open"

    class CircuitBreaker:
        def __init__(self, name: str, policy: BreakerPolicy, clock: Callable[[], float],
                     on_transition: Callable[[str, BreakerState, BreakerState], None] | None = None)
        name: str
        state: BreakerState            # property; OPEN turns HALF_OPEN once the cool-down passed
        consecutive_failures: int
        opened_at: float | None        # clock time it last opened
        def next_probe_at(self) -> float | None   # when OPEN: clock time probes are admitted
        def before_call(self) -> bool  # True = go ahead (reserves a probe slot in HALF_OPEN)
        def on_success(self) -> None   # HALF_OPEN -> CLOSED; resets the failure count
        def on_failure(self) -> None   # counts; CLOSED -> OPEN at the threshold; HALF_OPEN -> OPEN
        def on_neutral(self) -> None   # a client error: neither trips nor heals; frees the probe slot
        def force_open(self) -> None   # admin drain: stays OPEN until reset()
        def reset(self) -> None        # admin: back to CLOSED, counts cleared
        def snapshot(self) -> dict[str, object]   # state, consecutive_failures, opened_at, next_probe_at

    class BreakerRegistry:
        def __init__(self, policy: BreakerPolicy, clock: Callable[[], float],
                     on_transition: ... | None = None)
        def get(self, deployment_key: str) -> CircuitBreaker   # created on first use
        def all(self) -> Mapping[str, CircuitBreaker]
"""
