"""A real sliding-window request limiter (the rpm_limit fault mode)."""

from __future__ import annotations

import math
from collections import deque


class SlidingWindowLimiter:
    """Admit at most ``limit`` requests in any ``window_s`` seconds.

    Only admitted requests occupy the window, as with the real providers' request limits,
    so a client that honours ``Retry-After`` gets in as soon as the oldest request ages out.
    """

    def __init__(self, limit: int, window_s: float) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        if window_s <= 0:
            raise ValueError(f"window_s must be positive, got {window_s}")
        self.limit = limit
        self.window_s = window_s
        self._admitted: deque[float] = deque()

    def _expire(self, now: float) -> None:
        horizon = now - self.window_s
        while self._admitted and self._admitted[0] <= horizon:
            self._admitted.popleft()

    def try_acquire(self, now: float) -> int | None:
        """Admit the request at ``now`` (None), or return whole seconds until there is room.

        The wait is rounded up, as ``Retry-After`` carries whole seconds and a client
        retrying a fraction early would be refused again.
        """
        self._expire(now)
        if len(self._admitted) < self.limit:
            self._admitted.append(now)
            return None
        wait_s = self._admitted[0] + self.window_s - now
        return max(1, math.ceil(wait_s))

    def remaining(self, now: float) -> int:
        self._expire(now)
        return self.limit - len(self._admitted)

    def reset_after_s(self, now: float) -> float:
        """Seconds until the oldest admitted request leaves the window (0 when empty)."""
        self._expire(now)
        return self._admitted[0] + self.window_s - now if self._admitted else 0.0
