"""One keep-alive HTTP/1.1 connection: write a request, collect exactly one answer.

A plain answer is collected whole before the waiter hears of it (the cheap path every
non-streamed call takes). A streamed answer is handed over as soon as its head is parsed;
its body then arrives through :class:`StreamedBody`, which pauses reading from the socket
while the consumer is behind, so a slow client never makes the orchestrator buffer a whole
answer. Parsing is httptools (llhttp, the parser behind uvicorn).
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable
from typing import Final, cast

import httptools
from multidict import CIMultiDict, CIMultiDictProxy

from orchestrator.transport.errors import ProviderConnectionError

_PAUSE_AT_BYTES: Final = 256 * 1024  # buffered, unread stream bytes that pause the socket
MAX_ERROR_BODY_BYTES: Final = 64 * 1024
"""How much of a plain error answer is kept; the connection is dropped past it."""
_CODINGS: Final = (b"gzip", b"x-gzip", b"deflate")


class StaleConnection(ProviderConnectionError):
    """A reused connection died before any byte of the answer: safe to send again."""


def headers_of(raw: tuple[tuple[bytes, bytes], ...]) -> CIMultiDictProxy[str]:
    return CIMultiDictProxy(CIMultiDict((k.decode("latin-1"), v.decode("latin-1")) for k, v in raw))


class Decoder:
    """Undoes a gzip or deflate Content-Encoding as bytes arrive, never past ``max_bytes``."""

    __slots__ = ("_decoder", "_left", "_name")

    def __init__(self, encoding: bytes, first: bytes, max_bytes: int) -> None:
        self._name = encoding.decode("latin-1")
        if encoding not in _CODINGS:
            raise ProviderConnectionError(f"unsupported Content-Encoding {self._name!r}")
        # wbits 47: zlib or gzip framing, told apart by the header; deflate may also come raw.
        wbits = 47 if encoding != b"deflate" or first[:1] == b"\x78" else -15
        self._decoder = zlib.decompressobj(wbits)
        self._left = max_bytes

    def decode(self, data: bytes) -> bytes:
        try:
            out = self._decoder.decompress(data, self._left + 1)
        except zlib.error as exc:
            raise ProviderConnectionError(f"answer body is not valid {self._name}: {exc}") from exc
        self._left -= len(out)
        if self._left < 0 or self._decoder.unconsumed_tail:
            raise ProviderConnectionError("decoded answer larger than the response size limit")
        return out


class StreamedBody:
    """The body of a streamed answer, filled by the connection, drained by the consumer."""

    __slots__ = ("_buffered", "_chunks", "_connection", "_error", "_waiter", "done")

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._chunks: list[bytes] = []
        self._buffered = 0
        self._waiter: asyncio.Future[None] | None = None
        self._error: BaseException | None = None
        self.done = False  # the whole body arrived

    def feed(self, data: bytes) -> None:
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered > _PAUSE_AT_BYTES:
            self._connection.pause()
        self._wake()

    def finish(self) -> None:
        self.done = True
        self._wake()

    def fail(self, error: BaseException) -> None:
        if not self.done:
            self._error = error
            self._wake()

    async def read_chunk(self) -> bytes:
        while not self._chunks:
            if self._error is not None:
                raise self._error
            if self.done:
                return b""
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        chunks, self._chunks = self._chunks, []
        self._buffered = 0
        self._connection.resume()
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class Connection(asyncio.Protocol):
    """One socket. ``on_idle`` hands a connection whose answer ended back to its pool."""

    def __init__(self, max_response_bytes: int, on_idle: Callable[[Connection], None]) -> None:
        self._max_response_bytes = max_response_bytes
        self._on_idle = on_idle
        self._parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self.reused = False
        self._waiter: asyncio.Future[Head] | None = None
        self._streamed = False
        self._body: StreamedBody | None = None
        self._decoder: Decoder | None = None
        self._received = 0
        self._received_body = 0
        self._status = 0
        self._headers: list[tuple[bytes, bytes]] = []
        self._chunks: list[bytes] = []
        self._encoding: bytes | None = None
        self._paused = False

    # -- driven by the pool and the answer -----------------------------------------------

    def send(self, data: bytes, waiter: asyncio.Future[Head], streamed: bool) -> None:
        if self.transport is None or self.closed:
            raise StaleConnection("connection closed before the request was sent")
        self._waiter = waiter
        self._streamed = streamed
        self._received = 0
        self.transport.write(data)

    def abort(self) -> None:
        self.closed = True
        # The parser keeps this object alive in a reference cycle until a collection: let
        # go of a (possibly huge) half-read body now, not then.
        self._chunks, self._headers, self._received_body = [], [], 0
        if self.transport is not None:
            self.transport.abort()
        if self._body is not None:
            self._body.fail(ProviderConnectionError("the answer was closed before its end"))
            self._body = None

    def pause(self) -> None:
        if not self._paused and self.transport is not None and not self.closed:
            self._paused = True
            self.transport.pause_reading()

    def resume(self) -> None:
        if self._paused and self.transport is not None and not self.closed:
            self._paused = False
            self.transport.resume_reading()

    # -- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self._waiter is None and self._body is None:
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
        reason = f": {exc}" if exc else ""
        error = ProviderConnectionError(f"connection closed before the answer ended{reason}")
        if self._body is not None:
            self._body.fail(error)
            self._body = None
        if self._waiter is not None and not self._waiter.done():
            if self.reused and self._received == 0:
                error = StaleConnection("kept-alive connection was closed")
            self._waiter.set_exception(error)
        self._waiter = None

    # -- httptools callbacks ------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))
        if len(name) == len(b"content-encoding") and name.lower() == b"content-encoding":
            self._encoding = value.strip().lower()

    def on_headers_complete(self) -> None:
        self._status = self._parser.get_status_code()
        self._received_body = 0
        if not self._streamed or self._status < 200:
            return
        body = self._body = StreamedBody(self)
        self._resolve(Head(self._status, tuple(self._headers), None, body))

    def on_body(self, data: bytes) -> None:
        if self.closed:
            return  # the rest of a chunk that arrived after we dropped the connection
        body = self._body
        if body is None:
            self._chunks.append(data)
            self._received_body += len(data)
            if self._status >= 300 and self._received_body > MAX_ERROR_BODY_BYTES:
                self._cut_error_body()
            return
        if self._encoding not in (None, b"identity"):
            try:
                if self._decoder is None:
                    self._decoder = Decoder(self._encoding, data, self._max_response_bytes)
                data = self._decoder.decode(data)
            except ProviderConnectionError as error:
                self._fail(error)
                return
        if data:
            body.feed(data)

    def on_message_complete(self) -> None:
        status, headers = self._status, tuple(self._headers)
        chunks, encoding = self._chunks, self._encoding
        self._headers, self._chunks, self._encoding, self._decoder = [], [], None, None
        if status < 200:
            return  # informational (103 Early Hints...): the real answer follows
        keep_alive = self._parser.should_keep_alive()
        body, self._body = self._body, None
        if body is not None:
            body.finish()
        else:
            data = b"".join(chunks)
            if encoding is not None and encoding != b"identity":
                try:
                    data = Decoder(encoding, data, self._max_response_bytes).decode(data)
                except ProviderConnectionError as error:
                    self._fail(error)
                    return
            self._resolve(Head(status, headers, data, None))
        if not keep_alive:
            self.abort()
        elif body is not None:
            self._on_idle(self)  # a plain answer's connection goes back through the pool

    def _cut_error_body(self) -> None:
        """An error answer is worth its first bytes only: keep those, drop the connection."""
        coded = self._encoding not in (None, b"identity")  # a cut coded body cannot be decoded
        kept = b"" if coded else b"".join(self._chunks)[:MAX_ERROR_BODY_BYTES]
        self._resolve(Head(self._status, tuple(self._headers), kept, None))
        self.abort()

    def _resolve(self, head: Head) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(head)

    def _fail(self, error: ProviderConnectionError) -> None:
        waiter, self._waiter = self._waiter, None
        if self._body is not None:
            self._body.fail(error)
            self._body = None
        self.abort()
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)


class Head:
    """What a connection hands its waiter: the status and headers, and either the whole
    body (plain) or the body still arriving (streamed)."""

    __slots__ = ("body", "raw_headers", "status", "streamed")

    def __init__(
        self,
        status: int,
        raw_headers: tuple[tuple[bytes, bytes], ...],
        body: bytes | None,
        streamed: StreamedBody | None,
    ) -> None:
        self.status = status
        self.raw_headers = raw_headers
        self.body = body
        self.streamed = streamed
