"""Hostile request bodies against the real app on a loopback socket: a clear 4xx each, with
the request id, never a 5xx or a hang."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from orchestrator.app import create_app
from orchestrator.config import load_config
from shared.jsonlog import ConciseBadRequests

BODY_TIMEOUT_S = 0.3


@pytest.fixture
async def server() -> AsyncIterator[TestServer]:
    environ = {"ORCH__SERVER__BODY_READ_TIMEOUT_S": str(BODY_TIMEOUT_S)}
    app: web.Application = create_app(load_config(None, environ))
    test_server = TestServer(app)
    await test_server.start_server()
    yield test_server
    await test_server.close()


async def exchange(
    server: TestServer, head: bytes, body: bytes = b""
) -> tuple[int, dict[str, object]]:
    """Send raw bytes; the status and JSON body of the answer (the connection then closes)."""
    assert server.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(head + body)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(65536), BODY_TIMEOUT_S * 10)
        while b"\r\n\r\n" not in raw:
            raw += await reader.read(65536)
        head_part, _, rest = raw.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head_part.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        while len(rest) < length:
            rest += await reader.read(65536)
        return int(head_part.split(b" ")[1]), orjson.loads(rest[:length])
    finally:
        writer.close()


def request_head(extra: str) -> bytes:
    return (
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"X-Request-ID: req-hostile\r\n{extra}\r\n"
    ).encode()


async def test_a_body_that_never_completes_is_cut_with_a_408(server: TestServer) -> None:
    started = asyncio.get_running_loop().time()
    status, body = await exchange(server, request_head("Content-Length: 1000\r\n"), b'{"model"')
    elapsed = asyncio.get_running_loop().time() - started
    assert status == 408
    assert body["error"]["code"] == "request_timeout"  # type: ignore[index]
    assert body["request_id"] == "req-hostile"
    assert BODY_TIMEOUT_S <= elapsed < BODY_TIMEOUT_S * 5


async def test_an_unfinished_chunked_body_is_cut_with_a_408(server: TestServer) -> None:
    status, _ = await exchange(
        server, request_head("Transfer-Encoding: chunked\r\n"), b'5\r\n{"mod'
    )
    assert status == 408


async def test_a_body_whose_gzip_coding_is_broken_is_a_400(server: TestServer) -> None:
    junk = b"\x1f\x8b\x08\x00not really gzip at all"
    head = request_head(f"Content-Encoding: gzip\r\nContent-Length: {len(junk)}\r\n")
    status, body = await exchange(server, head, junk)
    assert status == 400
    assert body["request_id"] == "req-hostile"
    assert body["error"]["type"] == "invalid_request_error"  # type: ignore[index]


async def test_a_malformed_http_request_is_one_concise_warning_line(
    server: TestServer, caplog: pytest.LogCaptureFixture
) -> None:
    aiohttp_server = logging.getLogger("aiohttp.server")
    concise = ConciseBadRequests()
    aiohttp_server.addFilter(concise)
    try:
        with caplog.at_level(logging.INFO):
            assert server.port is not None
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"GET /\x00bad HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = await reader.read(1000)
            writer.close()
    finally:
        aiohttp_server.removeFilter(concise)
    assert answer.startswith(b"HTTP/1.0 400")
    [record] = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert (record.levelname, record.getMessage()) == ("WARNING", "bad_http_request")
    assert record.exc_info is None
    assert "Invalid char in url" in record.__dict__["reason"]
