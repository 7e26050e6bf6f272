"""A budget of extra calls as a share of recent requests, per key, on an injected clock.

Two users: the retry budget (per deployment: an outage cannot multiply the load on a
provider) and the hedge budget (per route: hedges stay a share of its requests). For the
retry budget:

Over a sliding window (``budget_window_s``, in one-second buckets), a deployment may take
retries up to ``budget_ratio`` of the requests it took first-hand, plus a small floor
(``budget_min_retries_per_s`` a second, so a quiet deployment can still be retried). A
retry here is a request's second or later attempt on the same deployment (in the same
round or a later one): the load a failing provider would otherwise see multiplied. A
failover is not one: it is the next deployment's first-hand request. A request whose retry
the budget refuses moves on, or ends with the failure it has, without waiting a backoff
for it. Off unless ``budget_ratio`` is set; the clock is injected.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True)
class _Window:
    """Counts per whole second, oldest first: (second, first attempts, retries)."""

    buckets: list[list[int]] = field(default_factory=list)

    def add(self, second: int, oldest: int, first: int, retries: int) -> None:
        self.trim(oldest)
        if self.buckets and self.buckets[-1][0] == second:
            self.buckets[-1][1] += first
            self.buckets[-1][2] += retries
        else:
            self.buckets.append([second, first, retries])

    def trim(self, oldest: int) -> None:
        while self.buckets and self.buckets[0][0] < oldest:
            self.buckets.pop(0)

    def totals(self) -> tuple[int, int]:
        return sum(b[1] for b in self.buckets), sum(b[2] for b in self.buckets)


class ShareBudget:
    """``deposit`` per request, ``spend`` per extra call; ``allows`` only reads."""

    __slots__ = ("_clock", "_floor", "_ratio", "_window_s", "_windows")

    def __init__(
        self, ratio: float, min_retries_per_s: float, window_s: float, clock: Callable[[], float]
    ) -> None:
        self._ratio = ratio
        self._floor = min_retries_per_s * window_s
        self._window_s = max(1, math.ceil(window_s))
        self._clock = clock
        self._windows: dict[str, _Window] = {}

    def deposit(self, deployment_key: str) -> None:
        self._add(deployment_key, 1, 0)

    def allows(self, deployment_key: str) -> bool:
        """A read: would a retry onto this deployment fit its budget now?"""
        window = self._windows.get(deployment_key)
        if window is None:
            return self._floor >= 1
        window.trim(self._oldest())
        first, retries = window.totals()
        return retries + 1 <= self._ratio * first + self._floor

    def spend(self, deployment_key: str) -> bool:
        """Take one retry from the budget; False (nothing taken) when it is spent."""
        if not self.allows(deployment_key):
            return False
        self._add(deployment_key, 0, 1)
        return True

    def _add(self, key: str, first: int, retries: int) -> None:
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _Window()
        window.add(int(self._clock()), self._oldest(), first, retries)

    def _oldest(self) -> int:
        return int(self._clock()) - self._window_s + 1
