"""The last outcomes a breaker has seen, as a sliding window of fixed size."""

from __future__ import annotations

from collections import deque


class OutcomeWindow:
    """The last ``size`` provider outcomes, with the failure and slow-call counts kept up
    to date in O(1)."""

    __slots__ = ("_failed", "_failures", "_slow", "_slows")

    def __init__(self, size: int) -> None:
        self._failed: deque[bool] = deque(maxlen=size)
        self._slow: deque[bool] = deque(maxlen=size)
        self._failures = 0
        self._slows = 0

    def record(self, failed: bool, slow: bool = False) -> None:
        if len(self._failed) == self._failed.maxlen:
            # The oldest outcome is about to fall out of the window.
            self._failures -= self._failed[0]
            self._slows -= self._slow[0]
        self._failed.append(failed)
        self._slow.append(slow)
        self._failures += failed
        self._slows += slow

    def clear(self) -> None:
        self._failed.clear()
        self._slow.clear()
        self._failures = 0
        self._slows = 0

    @property
    def slow_calls(self) -> int:
        return self._slows

    @property
    def calls(self) -> int:
        return len(self._failed)

    @property
    def failures(self) -> int:
        return self._failures
