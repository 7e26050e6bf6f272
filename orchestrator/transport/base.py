"""What the engine needs from the network: send one request, get one answer back.

:class:`Transport` is the seam. The keep-alive pool (:mod:`.pool`) is the real one; tests
swap in a transport of their own (an exception thrower, a scripted answerer) the way
httpx's ``MockTransport`` replaces its network, instead of patching internals. Every
answer's body can be read whole (:meth:`UpstreamAnswer.read`) or incrementally
(:meth:`UpstreamAnswer.read_chunk`), whichever way the request was sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from multidict import CIMultiDictProxy

from shared.values import value


@value
class UpstreamRequest:
    url: str  # provider.base_url + the format's path
    headers: Mapping[str, str]  # auth, content type, X-Request-ID, X-Attempt-Number (1-based)
    body: bytes  # orjson-encoded


class UpstreamAnswer(Protocol):
    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> CIMultiDictProxy[str]: ...

    async def read(self, limit: int | None = None) -> bytes:
        """The rest of the body, at most ``limit`` bytes of it (the answer is then closed)."""
        ...

    async def read_chunk(self) -> bytes:
        """The next bytes of the body as they arrive; ``b""`` at its end."""
        ...

    def close(self) -> None:
        """Done with the answer: a connection read to its end is reused, any other dropped
        (which is how a provider learns to stop generating)."""
        ...


class Transport(Protocol):
    async def send(
        self, request: UpstreamRequest, timeout_s: float, *, stream: bool = False
    ) -> UpstreamAnswer:
        """POST ``request``. Plain: the whole answer within ``timeout_s``. Stream: the answer
        once its head arrived within ``timeout_s``; the caller times the body's reads.

        Raises :class:`TimeoutError`, :class:`OSError` (refused, reset, TLS,
        :class:`~orchestrator.transport.errors.ProviderConnectionError`) or anything a
        transport may raise; :func:`~orchestrator.transport.errors.outcome_of` maps them.
        """
        ...

    async def close(self) -> None: ...
