"""Keep-alive HTTP/1.1 connections to providers, for plain (non-streaming) calls.

Why not aiohttp's ``ClientSession`` here: a provider call is one POST of a small JSON body
and one buffered answer, and on that shape the session's general machinery (request and
response objects, cookie jar, tracing, timers, header multidicts, URL building) cost
about 350k CPU instructions per call, where this pool costs about 40k. The orchestrator
is a hop in front of every LLM call, so that difference is most of its overhead
(``make bench``). Parsing is httptools (llhttp, the parser behind uvicorn); this module
only frames the request and pools connections. Streamed answers still go through the
aiohttp session (``orchestrator.streaming``), where its incremental reading earns its keep.

What it does and does not do:

* HTTP/1.1 over TCP or TLS; the answer must carry ``Content-Length`` or be chunked (any
  real provider does); one request in flight per connection, no pipelining.
* Connections are reused last-in first-out (the warmest socket) and dropped after
  ``idle_timeout_s`` unused, when the provider closes them, or when the answer says
  ``Connection: close``.
* A reused connection that the provider had already closed when the request went out
  (the keep-alive race) is retried once on a fresh connection, but only when not one byte
  of an answer came back: the provider cannot have acted on it. Anything else surfaces
  as :class:`ProviderConnectionError` for the engine's decision table.
* Cancellation (the attempt timeout, a caller who left) aborts the connection: a late
  answer must never be read as the next request's.
"""

from __future__ import annotations

import asyncio
import ssl
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, cast
from urllib.parse import urlsplit

import httptools
from multidict import CIMultiDict, CIMultiDictProxy

from shared.values import value

DEFAULT_IDLE_TIMEOUT_S: Final = 30.0
DEFAULT_MAX_RESPONSE_BYTES: Final = 32 * 1024 * 1024  # far above any chat completion
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


class ProviderConnectionError(ConnectionError):
    """No usable HTTP answer: refused, reset, closed early, malformed or oversized."""


class _StaleConnection(ProviderConnectionError):
    """A reused connection died before any byte of the answer: safe to send again."""


@value
class ProviderAnswer:
    status: int
    body: bytes
    raw_headers: tuple[tuple[bytes, bytes], ...]

    @property
    def headers(self) -> CIMultiDictProxy[str]:
        # Built on demand: a success needs no header, an error needs Retry-After at most.
        return CIMultiDictProxy(
            CIMultiDict((k.decode("latin-1"), v.decode("latin-1")) for k, v in self.raw_headers)
        )


@dataclass(frozen=True, slots=True)
class _Target:
    origin: tuple[str, str, int]  # scheme, host, port: the pool key
    head: bytes  # request line, Host and Accept-Encoding: the same for every call


class _Connection(asyncio.Protocol):
    """One socket: write a request, collect exactly one answer, report it to the waiter."""

    def __init__(self, max_response_bytes: int) -> None:
        self._max_response_bytes = max_response_bytes
        self._parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self.reused = False
        self._waiter: asyncio.Future[ProviderAnswer] | None = None
        self._received = 0
        self._headers: list[tuple[bytes, bytes]] = []
        self._chunks: list[bytes] = []
        self._encoding: bytes | None = None

    # -- driven by the pool -------------------------------------------------------------

    def send(self, data: bytes, waiter: asyncio.Future[ProviderAnswer]) -> None:
        if self.transport is None or self.closed:
            raise _StaleConnection("connection closed before the request was sent")
        self._waiter = waiter
        self._received = 0
        self.transport.write(data)

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    # -- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:
            self.abort()  # bytes nobody asked for: this connection's framing is lost
            return
        self._received += len(data)
        if self._received > self._max_response_bytes:
            self._fail(ProviderConnectionError("answer larger than the response size limit"))
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ProviderConnectionError(f"malformed HTTP answer: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is not None and not self._waiter.done():
            if self.reused and self._received == 0:
                self._waiter.set_exception(_StaleConnection("kept-alive connection was closed"))
            else:
                reason = f": {exc}" if exc else ""
                self._waiter.set_exception(
                    ProviderConnectionError(f"connection closed before the answer ended{reason}")
                )
        self._waiter = None

    # -- httptools callbacks ------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))
        if len(name) == len(b"content-encoding") and name.lower() == b"content-encoding":
            self._encoding = value.strip().lower()

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)

    def on_message_complete(self) -> None:
        status = self._parser.get_status_code()
        headers, body, encoding = tuple(self._headers), b"".join(self._chunks), self._encoding
        self._headers, self._chunks, self._encoding = [], [], None
        if status < 200:
            return  # informational (103 Early Hints...): the real answer follows
        if encoding is not None and encoding != b"identity":
            try:
                body = _decoded(body, encoding, self._max_response_bytes)
            except ProviderConnectionError as error:
                self._fail(error)
                return
        waiter, self._waiter = self._waiter, None
        answer = ProviderAnswer(status, body, headers)
        if not self._parser.should_keep_alive():
            self.abort()
        if waiter is not None and not waiter.done():
            waiter.set_result(answer)

    def _fail(self, error: ProviderConnectionError) -> None:
        waiter, self._waiter = self._waiter, None
        self.abort()
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)


@dataclass
class ProviderPool:
    """One per app (``cleanup_ctx``): pooled keep-alive connections to every provider."""

    clock: Callable[[], float]
    idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    ssl_context: ssl.SSLContext | None = None  # None: the system's default trust store
    _idle: dict[tuple[str, str, int], list[_Connection]] = field(default_factory=dict)
    _targets: dict[str, _Target] = field(default_factory=dict)
    _closed: bool = False

    async def post(
        self, url: str, headers: Mapping[str, str], body: bytes, timeout_s: float
    ) -> ProviderAnswer:
        """POST ``body`` to ``url``; the whole answer, whatever its status.

        :class:`TimeoutError` when no complete answer came within ``timeout_s`` (connecting
        included); the connection is then dropped.
        """
        target = self._targets.get(url) or self._target(url)
        request = _frame(target, headers, body)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        connection = await self._acquire(target.origin, deadline)
        try:
            answer = await self._exchange(connection, request, deadline)
        except _StaleConnection:
            connection = await self._connect(target.origin, deadline)
            answer = await self._exchange(connection, request, deadline)
        self._release(target.origin, connection)
        return answer

    async def close(self) -> None:
        self._closed = True
        for connections in self._idle.values():
            for connection in connections:
                connection.abort()
        self._idle.clear()

    def idle_connections(self) -> int:
        return sum(len(connections) for connections in self._idle.values())

    async def _exchange(
        self, connection: _Connection, request: bytes, deadline: float
    ) -> ProviderAnswer:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[ProviderAnswer] = loop.create_future()
        # One timer handle, not asyncio.timeout's context manager: this runs on every call.
        timer = loop.call_at(deadline, _expire, waiter)
        try:
            connection.send(request, waiter)
            return await waiter
        except BaseException:
            connection.abort()  # whatever is still on the wire belongs to nobody now
            raise
        finally:
            timer.cancel()

    async def _acquire(self, origin: tuple[str, str, int], deadline: float) -> _Connection:
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

    async def _connect(self, origin: tuple[str, str, int], deadline: float) -> _Connection:
        if self._closed:
            raise ProviderConnectionError("the provider pool is closed")
        scheme, host, port = origin
        tls = self._tls() if scheme == "https" else None
        loop = asyncio.get_running_loop()
        max_bytes = self.max_response_bytes
        try:
            async with asyncio.timeout_at(deadline):
                _, connection = await loop.create_connection(
                    lambda: _Connection(max_bytes),
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

    def _release(self, origin: tuple[str, str, int], connection: _Connection) -> None:
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


def _decoded(body: bytes, encoding: bytes, max_bytes: int) -> bytes:
    """``body`` without its gzip or deflate coding, never more than ``max_bytes`` of it."""
    name = encoding.decode("latin-1")
    if encoding not in (b"gzip", b"x-gzip", b"deflate"):
        raise ProviderConnectionError(f"unsupported Content-Encoding {name!r}")
    # wbits 47: zlib or gzip framing, told apart by the header; deflate may also come raw.
    wbits = 47 if encoding != b"deflate" or body[:1] == b"\x78" else -15
    decoder = zlib.decompressobj(wbits)
    try:
        decoded = decoder.decompress(body, max_bytes)
    except zlib.error as exc:
        raise ProviderConnectionError(f"answer body is not valid {name}: {exc}") from exc
    if decoder.unconsumed_tail:
        raise ProviderConnectionError("decoded answer larger than the response size limit")
    return decoded


def _expire(waiter: asyncio.Future[ProviderAnswer]) -> None:
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
