"""The last outcomes a breaker has seen, as a sliding window of fixed size."""

from __future__ import annotations

from collections import deque


class OutcomeWindow:
    """The last ``size`` provider outcomes, with the failure count kept up to date in O(1)."""

    __slots__ = ("_failed", "_failures")

    def __init__(self, size: int) -> None:
        self._failed: deque[bool] = deque(maxlen=size)
        self._failures = 0

    def record(self, failed: bool) -> None:
        if len(self._failed) == self._failed.maxlen and self._failed[0]:
            self._failures -= 1  # the oldest outcome is about to fall out of the window
        self._failed.append(failed)
        self._failures += failed

    def clear(self) -> None:
        self._failed.clear()
        self._failures = 0

    @property
    def calls(self) -> int:
        return len(self._failed)

    @property
    def failures(self) -> int:
        return self._failures
