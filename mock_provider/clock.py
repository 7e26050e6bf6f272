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
