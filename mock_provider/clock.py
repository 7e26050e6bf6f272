"""The clocks the mock reads, injected so outage windows and the limiter test without sleeping."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a clock that never goes back: windows, outages, limiter."""
        ...

    def wall(self) -> float:
        """Unix time in seconds: what the attempt log shows."""
        ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()


class ManualClock:
    """A clock that moves only when told: for tests of outages and the rpm limiter."""

    def __init__(self, start_s: float = 1_000.0, wall_offset_s: float = 1.7e9) -> None:
        self._now_s = start_s
        self._wall_offset_s = wall_offset_s

    def monotonic(self) -> float:
        return self._now_s

    def wall(self) -> float:
        return self._wall_offset_s + self._now_s

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"a clock does not go back: {seconds}")
        self._now_s += seconds
