"""Hostile upstreams against the pool: error floods are cut, oversized answers let go of
their memory."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from orchestrator.transport.connection import MAX_ERROR_BODY_BYTES
from orchestrator.transport.errors import ProviderConnectionError
from orchestrator.transport.pool import DEFAULT_MAX_RESPONSE_BYTES, ProviderPool
from tests.unit.fakes import FakeClock

HEADERS = {"Content-Type": "application/json"}


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


async def flood_server(status: int, size: int) -> tuple[asyncio.Server, int]:
    body = b"x" * size
    head = f"HTTP/1.1 {status} X\r\nContent-Length: {size}\r\n\r\n".encode()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                await reader.readexactly(2)
                writer.write(head)
                writer.write(body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


@pytest.fixture
async def pool() -> AsyncIterator[ProviderPool]:
    pool = ProviderPool(FakeClock())
    yield pool
    await pool.close()


async def test_an_error_answer_is_kept_to_its_first_64_kib(pool: ProviderPool) -> None:
    server, port = await flood_server(500, 8 * 1024 * 1024)
    answer = await pool.post(f"http://127.0.0.1:{port}/", HEADERS, b"{}", 10.0)
    assert answer.status == 500
    assert answer.body is not None
    assert len(answer.body) == MAX_ERROR_BODY_BYTES
    assert pool.idle_connections() == 0  # the rest is never read: the connection is dropped
    server.close()


async def test_memory_comes_back_after_a_burst_of_oversized_answers(pool: ProviderPool) -> None:
    server, port = await flood_server(200, DEFAULT_MAX_RESPONSE_BYTES + 1024 * 1024)
    gc.collect()
    before = rss_mb()
    for _ in range(10):
        with pytest.raises(ProviderConnectionError, match="size limit"):
            await pool.post(f"http://127.0.0.1:{port}/", HEADERS, b"{}", 30.0)
    gc.collect()
    assert rss_mb() - before < 50
    server.close()
