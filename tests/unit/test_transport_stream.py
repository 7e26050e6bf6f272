"""Streamed answers over the provider pool, against a real loopback server that writes its
chunked body piece by piece when the test says so."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
from collections.abc import AsyncIterator

import pytest

from orchestrator.transport.base import UpstreamRequest
from orchestrator.transport.errors import ProviderConnectionError
from orchestrator.transport.pool import ProviderPool
from tests.unit.fakes import FakeClock

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


class PacedServer:
    """Answers each request with HEAD, then one chunk per ``send`` call, then ``end``."""

    def __init__(self, extra_head: bytes = b"") -> None:
        self.extra_head = extra_head
        self.connections = 0
        self.pieces: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.readers: list[asyncio.StreamReader] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.readers.append(reader)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                await reader.readexactly(length)
                writer.write(HEAD + self.extra_head + b"\r\n")
                while (piece := await self.pieces.get()) is not None:
                    writer.write(chunk(piece))
                    await writer.drain()
                writer.write(b"0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def paced(extra_head: bytes = b"") -> AsyncIterator[tuple[PacedServer, str]]:
    scripted = PacedServer(extra_head)
    server = await asyncio.start_server(scripted.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield scripted, f"http://127.0.0.1:{port}/v1/chat/completions"
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 1.0)


@pytest.fixture
async def pool() -> AsyncIterator[ProviderPool]:
    pool = ProviderPool(FakeClock())
    yield pool
    await pool.close()


def request(url: str) -> UpstreamRequest:
    return UpstreamRequest(url, {"Content-Type": "application/json"}, b"{}")


async def test_a_streamed_answer_arrives_piece_by_piece_as_the_provider_sends_it(
    pool: ProviderPool,
) -> None:
    async with paced() as (server, url):
        answer = await pool.send(request(url), 5.0, stream=True)
        assert answer.status == 200
        assert answer.headers["content-type"] == "text/event-stream"
        await server.pieces.put(b"data: one\n\n")
        assert await answer.read_chunk() == b"data: one\n\n"
        await server.pieces.put(b"data: two\n\n")
        assert await answer.read_chunk() == b"data: two\n\n"
        await server.pieces.put(None)
        assert await answer.read_chunk() == b""
        answer.close()


async def test_a_stream_read_to_its_end_leaves_its_connection_for_the_next_call(
    pool: ProviderPool,
) -> None:
    async with paced() as (server, url):
        answer = await pool.send(request(url), 5.0, stream=True)
        await server.pieces.put(b"x")
        await server.pieces.put(None)
        assert await answer.read() == b"x"
        answer.close()
        assert pool.idle_connections() == 1
        again = await pool.send(request(url), 5.0, stream=True)
        await server.pieces.put(None)
        assert await again.read() == b""
        assert server.connections == 1


async def test_closing_a_stream_half_way_drops_its_connection(pool: ProviderPool) -> None:
    async with paced() as (server, url):
        answer = await pool.send(request(url), 5.0, stream=True)
        await server.pieces.put(b"data: partial\n\n")
        assert await answer.read_chunk() == b"data: partial\n\n"
        answer.close()  # how the provider learns to stop generating
        # The provider's side of the socket sees the end of the connection.
        assert await asyncio.wait_for(server.readers[0].read(), 2.0) == b""
        assert pool.idle_connections() == 0
        await server.pieces.put(None)


async def test_a_stream_cut_by_the_provider_is_a_connection_error(pool: ProviderPool) -> None:
    async def cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await reader.readexactly(2)
        writer.write(HEAD + b"\r\n" + chunk(b"data: half"))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(cut, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    answer = await pool.send(request(f"http://127.0.0.1:{port}/"), 5.0, stream=True)
    assert await answer.read_chunk() == b"data: half"
    with pytest.raises(ProviderConnectionError, match="before the answer ended"):
        await answer.read_chunk()
    server.close()


async def test_a_gzip_coded_stream_is_decoded_as_it_arrives(pool: ProviderPool) -> None:
    async with paced(b"Content-Encoding: gzip\r\n") as (server, url):
        answer = await pool.send(request(url), 5.0, stream=True)
        await server.pieces.put(gzip.compress(b"data: zipped\n\n"))
        await server.pieces.put(None)
        assert await answer.read() == b"data: zipped\n\n"


async def test_an_error_answer_to_a_stream_request_is_read_up_to_the_limit(
    pool: ProviderPool,
) -> None:
    async with paced() as (server, url):
        answer = await pool.send(request(url), 5.0, stream=True)
        await server.pieces.put(b"x" * 100)
        await server.pieces.put(b"y" * 100)
        body = await answer.read(limit=150)
        assert body == b"x" * 100 + b"y" * 50


async def test_no_head_within_the_timeout_is_a_timeout(pool: ProviderPool) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)
        await asyncio.sleep(5)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    with pytest.raises(TimeoutError):
        await pool.send(request(f"http://127.0.0.1:{port}/"), 0.05, stream=True)
    server.close()
