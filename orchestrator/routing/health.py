"""Recent health per deployment, for the routing strategies: an EWMA of attempt latency and
of success, and the attempts in flight. Fed by the engine from the same outcome values the
breaker records; reading it changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

EWMA_WEIGHT: Final = 0.3
"""How much the newest outcome moves the averages (the last few dominate)."""


@dataclass(slots=True)
class DeploymentHealth:
    latency_s: float | None = None  # None until the first answer
    success: float | None = None  # share of recent attempts that succeeded, smoothed
    in_flight: int = 0

    def observe(self, ok: bool, latency_s: float) -> None:
        if ok:  # a failure's latency (a refusal, a timeout) says nothing of serving speed
            self.latency_s = (
                latency_s
                if self.latency_s is None
                else self.latency_s + EWMA_WEIGHT * (latency_s - self.latency_s)
            )
        value = 1.0 if ok else 0.0
        self.success = (
            value if self.success is None else self.success + EWMA_WEIGHT * (value - self.success)
        )


class HealthBoard:
    """Every deployment's :class:`DeploymentHealth`, created on first use."""

    __slots__ = ("_health",)

    def __init__(self) -> None:
        self._health: dict[str, DeploymentHealth] = {}

    def of(self, key: str) -> DeploymentHealth:
        health = self._health.get(key)
        if health is None:
            health = self._health[key] = DeploymentHealth()
        return health

    def started(self, key: str) -> None:
        self.of(key).in_flight += 1

    def ended(self, key: str, ok: bool | None, latency_s: float) -> None:
        """An attempt ended; ``ok`` None when it was abandoned (says nothing)."""
        health = self.of(key)
        health.in_flight = max(0, health.in_flight - 1)
        if ok is not None:
            health.observe(ok, latency_s)
