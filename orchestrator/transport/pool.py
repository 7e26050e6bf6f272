"""Keep-alive HTTP/1.1 connections to providers: the :class:`~.base.Transport` in production.

Why not aiohttp's ``ClientSession`` here: a provider call is one POST of a small JSON body
and one answer, and on that shape the session's general machinery (request and response
objects, cookie jar, tracing, timers, header multidicts, URL building) cost about 350k CPU
instructions per call, where this pool costs about 40k. The orchestrator is a hop in front
of every LLM call, so that difference is most of its overhead (``make bench``). Plain and
streamed answers take the same connections (:mod:`.connection` parses them); this module
frames requests and pools connections.

What it does and does not do:

* HTTP/1.1 over TCP or TLS; the answer must carry ``Content-Length`` or be chunked (any
  real provider does); one request in flight per connection, no pipelining.
* A streamed answer's connection goes back to the pool when its body has been read to the
  end; closed half-way, it is dropped.
* Connections are reused last-in first-out (the warmest socket) and dropped after
  ``idle_timeout_s`` unused, when the provider closes them, or when the answer says
  ``Connection: close``.
* A reused connection that the provider had already closed when the request went out
  (the keep-alive race) is retried once on a fresh connection, but only when not one byte
  of an answer came back: the provider cannot have acted on it. Anything else surfaces
  as :class:`ProviderConnectionError` for the exception map (:mod:`.errors`).
* Cancellation (the attempt timeout, a caller who left) aborts the connection: a late
  answer must never be read as the next request's.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

from multidict import CIMultiDictProxy

from orchestrator.transport.base import UpstreamRequest
from orchestrator.transport.connection import (
    Connection,
    Head,
    StaleConnection,
    StreamedBody,
    headers_of,
)
from orchestrator.transport.errors import ProviderConnectionError

DEFAULT_IDLE_TIMEOUT_S: Final = 30.0
DEFAULT_MAX_RESPONSE_BYTES: Final = 32 * 1024 * 1024  # far above any chat completion
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


class ProviderAnswer:
    """An answer from :meth:`ProviderPool.send`: whole (``body``) or still streaming."""

    __slots__ = ("_connection", "_streamed", "body", "raw_headers", "status")

    def __init__(self, head: Head, connection: Connection) -> None:
        self.status = head.status
        self.raw_headers = head.raw_headers
        self.body = head.body  # None while a streamed body is still arriving
        self._streamed: StreamedBody | None = head.streamed
        self._connection = connection

    @property
    def headers(self) -> CIMultiDictProxy[str]:
        # Built on demand: a success needs no header, an error needs Retry-After at most.
        return headers_of(self.raw_headers)

    async def read(self, limit: int | None = None) -> bytes:
        if self._streamed is None:
            body, self.body = self.body or b"", b""
            return body if limit is None else body[:limit]
        parts: list[bytes] = []
        size = 0
        while limit is None or size < limit:
            chunk = await self._streamed.read_chunk()
            if not chunk:
                break
            parts.append(chunk)
            size += len(chunk)
        self.close()
        body = b"".join(parts)
        return body if limit is None else body[:limit]

    async def read_chunk(self) -> bytes:
        if self._streamed is None:
            body, self.body = self.body or b"", b""
            return body
        return await self._streamed.read_chunk()

    def close(self) -> None:
        streamed = self._streamed
        if streamed is not None and not streamed.done:
            self._connection.abort()


@dataclass(frozen=True, slots=True)
class _Target:
    origin: tuple[str, str, int]  # scheme, host, port: the pool key
    head: bytes  # request line, Host and Accept-Encoding: the same for every call


@dataclass
class ProviderPool:
    """One per app (``cleanup_ctx``): pooled keep-alive connections to every provider."""

    clock: Callable[[], float]
    idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    ssl_context: ssl.SSLContext | None = None  # None: the system's default trust store
    _idle: dict[tuple[str, str, int], list[Connection]] = field(default_factory=dict)
    _targets: dict[str, _Target] = field(default_factory=dict)
    _closed: bool = False

    async def send(
        self, request: UpstreamRequest, timeout_s: float, *, stream: bool = False
    ) -> ProviderAnswer:
        """The :class:`~.base.Transport` call: see there."""
        return await self._call(request.url, request.headers, request.body, timeout_s, stream)

    async def post(
        self, url: str, headers: Mapping[str, str], body: bytes, timeout_s: float
    ) -> ProviderAnswer:
        """POST ``body`` to ``url``; the whole answer, whatever its status.

        :class:`TimeoutError` when no complete answer came within ``timeout_s`` (connecting
        included); the connection is then dropped.
        """
        return await self._call(url, headers, body, timeout_s, False)

    async def _call(
        self,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        timeout_s: float,
        stream: bool,
    ) -> ProviderAnswer:
        target = self._targets.get(url) or self._target(url)
        request = _frame(target, headers, body)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        connection = await self._acquire(target.origin, deadline)
        try:
            head = await self._exchange(connection, request, deadline, stream)
        except StaleConnection:
            connection = await self._connect(target.origin, deadline)
            head = await self._exchange(connection, request, deadline, stream)
        if head.streamed is None:
            self._release(target.origin, connection)
        return ProviderAnswer(head, connection)

    async def close(self) -> None:
        self._closed = True
        for connections in self._idle.values():
            for connection in connections:
                connection.abort()
        self._idle.clear()

    def idle_connections(self) -> int:
        return sum(len(connections) for connections in self._idle.values())

    async def _exchange(
        self, connection: Connection, request: bytes, deadline: float, stream: bool
    ) -> Head:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Head] = loop.create_future()
        # One timer handle, not asyncio.timeout's context manager: this runs on every call.
        timer = loop.call_at(deadline, _expire, waiter)
        try:
            connection.send(request, waiter, stream)
            return await waiter
        except BaseException:
            connection.abort()  # whatever is still on the wire belongs to nobody now
            raise
        finally:
            timer.cancel()

    async def _acquire(self, origin: tuple[str, str, int], deadline: float) -> Connection:
        idle = self._idle.get(origin)
        now = self.clock()
        while idle:
            connection = idle.pop()
            if connection.closed:
                continue
            if now - connection.idle_since > self.idle_timeout_s:
                connection.abort()
                continue
            connection.reused = True
            return connection
        return await self._connect(origin, deadline)

    async def _connect(self, origin: tuple[str, str, int], deadline: float) -> Connection:
        if self._closed:
            raise ProviderConnectionError("the provider pool is closed")
        scheme, host, port = origin
        tls = self._tls() if scheme == "https" else None
        loop = asyncio.get_running_loop()
        max_bytes = self.max_response_bytes
        on_idle = functools.partial(self._release, origin)
        try:
            async with asyncio.timeout_at(deadline):
                _, connection = await loop.create_connection(
                    lambda: Connection(max_bytes, on_idle),
                    host,
                    port,
                    ssl=tls,
                    server_hostname=host if tls is not None else None,
                )
        except TimeoutError:
            raise  # an OSError too, but the caller's deadline, not the provider's refusal
        except OSError as exc:
            raise ProviderConnectionError(f"cannot connect to {host}:{port}: {exc}") from exc
        return connection

    def _release(self, origin: tuple[str, str, int], connection: Connection) -> None:
        if connection.closed or self._closed:
            return
        connection.idle_since = self.clock()
        self._idle.setdefault(origin, []).append(connection)

    def _tls(self) -> ssl.SSLContext:
        if self.ssl_context is None:
            self.ssl_context = ssl.create_default_context()
        return self.ssl_context

    def _target(self, url: str) -> _Target:
        # Provider URLs come from the configuration: a handful, parsed once each.
        parts = urlsplit(url)
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
        host_header = parts.hostname if parts.port is None else f"{parts.hostname}:{port}"
        if ":" in parts.hostname:  # an IPv6 literal goes back in brackets
            host_header = f"[{parts.hostname}]" + ("" if parts.port is None else f":{port}")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        target = _Target(
            (parts.scheme, parts.hostname, port),
            # No Accept-Encoding means "any coding" (RFC 9110): name the two we decode.
            f"POST {path} HTTP/1.1\r\nHost: {host_header}\r\n"
            "Accept-Encoding: gzip, deflate\r\n".encode("latin-1"),
        )
        self._targets[url] = target
        return target


def _expire(waiter: asyncio.Future[Head]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


def _frame(target: _Target, headers: Mapping[str, str], body: bytes) -> bytes:
    lines = "".join([f"{name}: {value}\r\n" for name, value in headers.items()])
    # A CR or LF inside a value would let it start a header of its own.
    if lines.count("\n") != len(headers) or lines.count("\r") != len(headers):
        raise ValueError("a header value contains a line break")
    return b"".join(
        (
            target.head,
            f"Content-Length: {len(body)}\r\n{lines}\r\n".encode("latin-1"),
            body,
        )
    )
