"""Request ids nobody can guess: cryptographic randomness, drawn in batches.

A request id names a journey that ``GET /v1/requests/{id}`` shows, so it must not be
predictable (a ``random.Random`` sequence can be reconstructed from a few outputs). One
``os.urandom`` call per :data:`BATCH` ids keeps it cheap: a getrandom() system call per
request is what ``secrets.token_hex`` would cost.
"""

from __future__ import annotations

import os
from typing import Final

ID_BYTES: Final = 12  # 96 bits
BATCH: Final = 512


class RequestIds:
    __slots__ = ("_hex", "_next")

    def __init__(self) -> None:
        self._hex = ""
        self._next = 0

    def new(self) -> str:
        start = self._next
        if start >= len(self._hex):
            self._hex = os.urandom(ID_BYTES * BATCH).hex()
            start = 0
        end = start + 2 * ID_BYTES
        self._next = end
        return f"req_{self._hex[start:end]}"
