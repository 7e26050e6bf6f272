"""The bounded log of every provider request the mock saw (``GET /log``).

Tests and the demo read it to prove what a caller did: how many attempts, how far apart,
with which request id, and what the mock answered each time.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, Final

DEFAULT_CAPACITY: Final = 10_000


@dataclass(frozen=True, slots=True)
class AttemptEntry:
    seq: int
    time: float
    provider: str
    path: str
    model: str | None
    stream: bool
    request_id: str | None
    attempt: int | None
    fault: str | None
    status: int | None
    disconnected: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time,
            "provider": self.provider,
            "path": self.path,
            "model": self.model,
            "stream": self.stream,
            "request_id": self.request_id,
            "attempt": self.attempt,
            "fault": self.fault,
            "status": self.status,
            "disconnected": self.disconnected,
        }


class AttemptLog:
    """The last ``capacity`` entries, oldest first; sequence numbers keep counting past eviction."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self._entries: deque[AttemptEntry] = deque(maxlen=capacity)
        self._next_seq = 1

    def next_seq(self) -> int:
        """Reserve a sequence number at arrival, so entries sort by arrival, not by finish."""
        seq = self._next_seq
        self._next_seq += 1
        return seq

    def add(self, entry: AttemptEntry) -> None:
        self._entries.append(entry)

    def entries(
        self, provider: str | None = None, request_id: str | None = None
    ) -> list[AttemptEntry]:
        """Entries in arrival order, optionally only one provider's or one request id's."""
        selected = (
            e
            for e in self._entries
            if (provider is None or e.provider == provider)
            and (request_id is None or e.request_id == request_id)
        )
        return sorted(selected, key=lambda e: e.seq)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
