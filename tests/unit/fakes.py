"""Test doubles for injected time and randomness, shared by every unit test."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import cycle

from multidict import CIMultiDict, CIMultiDictProxy


class FakeClock:
    """A clock that moves only when told to: pass it wherever a ``Callable[[], float]`` goes.

    It starts well above zero so code that treats ``0.0`` as "unset" is caught.
    """

    def __init__(self, start: float = 1_000.0) -> None:
        self._now = start

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"seconds={seconds} must be >= 0: time does not run backwards")
        self._now += seconds


class ScriptedRandom:
    """A ``random()`` stand-in that returns the given values in [0, 1), cycling."""

    def __init__(self, values: Iterable[float]) -> None:
        items = tuple(values)
        if not items or any(not 0.0 <= v < 1.0 for v in items):
            raise ValueError(f"values={items!r} must be non-empty and each in [0, 1)")
        self._values = cycle(items)

    def __call__(self) -> float:
        return next(self._values)


class FakeAnswer:
    """An upstream answer for a swapped-in transport: the whole body at once, and (when
    ``fail_with`` is given) that exception once the body is read."""

    def __init__(
        self,
        body: bytes,
        content_type: str = "application/json",
        status: int = 200,
        fail_with: Exception | None = None,
    ) -> None:
        self.status = status
        self._body = body
        self._content_type = content_type
        self._fail_with = fail_with
        self.closed = False

    @property
    def headers(self) -> CIMultiDictProxy[str]:
        return CIMultiDictProxy(CIMultiDict({"Content-Type": self._content_type}))

    async def read(self, limit: int | None = None) -> bytes:
        body, self._body = self._body, b""
        return body if limit is None else body[:limit]

    async def read_chunk(self) -> bytes:
        if self._fail_with is not None and not self._body:
            raise self._fail_with
        return await self.read()

    def close(self) -> None:
        self.closed = True
