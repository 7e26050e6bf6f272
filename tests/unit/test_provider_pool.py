"""The provider connection pool against real loopback sockets and scripted HTTP servers.

Each server reads one request at a time and answers from a script, so the tests can say
exactly what went over which connection: reuse, the keep-alive race, ``Connection: close``,
chunked bodies, bad framing, cancellation and TLS.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import ssl
import subprocess
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from orchestrator.transport.errors import ProviderConnectionError
from orchestrator.transport.pool import ProviderPool
from tests.unit.fakes import FakeClock

OK_BODY = b'{"ok":true}'
HEADERS = {"Content-Type": "application/json", "X-Request-ID": "req_1"}
TIMEOUT_S = 10.0  # generous: only the timeout test waits for a timer

# What the server does with a request: write bytes back, or None to close without a word.
Reply = Callable[[bytes, int], Awaitable[bytes | None]]


def answer(status: int = 200, body: bytes = OK_BODY, extra: str = "") -> bytes:
    head = f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    return head.encode() + body


class ScriptedServer:
    """Counts connections and keeps every request it read, with its connection number."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.connections = 0
        self.requests: list[tuple[int, bytes]] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.request_seen = asyncio.Event()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        connection = self.connections
        self.writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(_header(head, b"content-length") or b"0")
                request = head + await reader.readexactly(length)
                self.requests.append((connection, request))
                self.request_seen.set()
                reply = await self.reply(request, connection)
                if reply is None:
                    break
                writer.write(reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def close_idle_connections(self) -> None:
        for writer in self.writers:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


def _header(head: bytes, name: bytes) -> bytes | None:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip()
    return None


@contextlib.asynccontextmanager
async def serving(
    reply: Reply, tls: ssl.SSLContext | None = None
) -> AsyncIterator[tuple[ScriptedServer, int]]:
    scripted = ScriptedServer(reply)
    server = await asyncio.start_server(scripted.handle, "127.0.0.1", 0, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    try:
        yield scripted, port
    finally:
        server.close()
        await scripted.close_idle_connections()
        await server.wait_closed()


async def always_ok(request: bytes, connection: int) -> bytes:
    return answer()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def pool(clock: FakeClock) -> AsyncIterator[ProviderPool]:
    pool = ProviderPool(clock, idle_timeout_s=30.0)
    yield pool
    await pool.close()


async def test_a_request_is_framed_with_host_length_and_the_given_headers(
    pool: ProviderPool,
) -> None:
    async with serving(always_ok) as (server, port):
        got = await pool.post(
            f"http://127.0.0.1:{port}/v1/chat?x=1", HEADERS, b'{"a":1}', TIMEOUT_S
        )
    assert (got.status, got.body) == (200, OK_BODY)
    request = server.requests[0][1]
    assert request.startswith(b"POST /v1/chat?x=1 HTTP/1.1\r\n")
    assert _header(request, b"host") == f"127.0.0.1:{port}".encode()
    assert _header(request, b"content-length") == b"7"
    assert _header(request, b"x-request-id") == b"req_1"
    assert request.endswith(b'\r\n\r\n{"a":1}')


async def test_answer_headers_are_case_insensitive_and_every_status_is_returned(
    pool: ProviderPool,
) -> None:
    async def rate_limited(request: bytes, connection: int) -> bytes:
        return answer(429, b'{"error":{}}', "retry-after: 7\r\nX-Two: a\r\nx-two: b\r\n")

    async with serving(rate_limited) as (_, port):
        got = await pool.post(f"http://127.0.0.1:{port}/", HEADERS, b"{}", TIMEOUT_S)
    assert got.status == 429
    assert got.headers["Retry-After"] == "7"
    assert got.headers.getall("X-Two") == ["a", "b"]


async def test_a_chunked_answer_is_reassembled(pool: ProviderPool) -> None:
    async def chunked(request: bytes, connection: int) -> bytes:
        return (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b'4\r\n{"ok\r\n7\r\n":true}\r\n0\r\n\r\n'
        )

    async with serving(chunked) as (_, port):
        got = await pool.post(f"http://127.0.0.1:{port}/", HEADERS, b"{}", TIMEOUT_S)
    assert got.body == OK_BODY


async def test_connections_are_kept_alive_and_reused(pool: ProviderPool) -> None:
    async with serving(always_ok) as (server, port):
        for _ in range(3):
            await pool.post(f"http://127.0.0.1:{port}/", HEADERS, b"{}", TIMEOUT_S)
        assert server.connections == 1
        assert pool.idle_connections() == 1


async def test_concurrent_requests_each_get_their_own_connection(pool: ProviderPool) -> None:
    both_arrived = asyncio.Event()
    arrived = 0

    async def wait_for_both(request: bytes, connection: int) -> bytes:
        nonlocal arrived
        arrived += 1
        if arrived == 2:
            both_arrived.set()
        await both_arrived.wait()
        return answer(body=f'{{"c":{connection}}}'.encode())

    async with serving(wait_for_both) as (server, port):
        url = f"http://127.0.0.1:{port}/"
        first, second = await asyncio.gather(
            pool.post(url, HEADERS, b"{}", TIMEOUT_S), pool.post(url, HEADERS, b"{}", TIMEOUT_S)
        )
    assert {first.body, second.body} == {b'{"c":1}', b'{"c":2}'}
    assert server.connections == 2


async def test_connection_close_in_the_answer_is_honoured(pool: ProviderPool) -> None:
    async def closing(request: bytes, connection: int) -> bytes:
        return answer(extra="Connection: close\r\n")

    async with serving(closing) as (server, port):
        await pool.post(f"http://127.0.0.1:{port}/", HEADERS, b"{}", TIMEOUT_S)
        assert pool.idle_connections() == 0
        await pool.post(f"http://127.0.0.1:{port}/", HEADERS, b"{}", TIMEOUT_S)
    assert server.connections == 2


async def test_a_connection_the_provider_closed_while_idle_is_replaced_unnoticed(
    pool: ProviderPool,
) -> None:
    async with serving(always_ok) as (server, port):
        url = f"http://127.0.0.1:{port}/"
        await pool.post(url, HEADERS, b"{}", TIMEOUT_S)
        await server.close_idle_connections()
        got = await pool.post(url, HEADERS, b"{}", TIMEOUT_S)
    assert got.status == 200
    assert server.connections == 2
    assert len(server.requests) == 2


async def test_keep_alive_race_is_retried_once_on_a_fresh_connection(pool: ProviderPool) -> None:
    async def drop_second_request_on_first_connection(
        request: bytes, connection: int
    ) -> bytes | None:
        if connection == 1 and len(server.requests) == 2:
            return None  # closed with not one byte of an answer, as a keep-alive timeout does
        return answer()

    async with serving(drop_second_request_on_first_connection) as (server, port):
        url = f"http://127.0.0.1:{port}/"
        await pool.post(url, HEADERS, b"{}", TIMEOUT_S)
        got = await pool.post(url, HEADERS, b"{}", TIMEOUT_S)
    assert got.status == 200
    assert [connection for connection, _ in server.requests] == [1, 1, 2]


async def test_a_fresh_connection_closed_without_an_answer_is_an_error(
    pool: ProviderPool,
) -> None:
    async def hang_up(request: bytes, connection: int) -> None:
        return None

    async with serving(hang_up) as (server, port):
        with pytest.raises(ProviderConnectionError, match="closed before the answer"):
            await pool.post(f"http://127.0.0.1:{port}/", HEADERS, b"{}", TIMEOUT_S)
    assert len(server.requests) == 1  # not retried: only a reused connection can be stale


async def test_an_answer_cut_half_way_is_an_error(pool: ProviderPool) -> None:
    async def cut(request: bytes, connection: int) -> bytes:
        return answer()[:-3]

    async with serving(cut) as (server, port):
        task = asyncio.create_task(
            pool.post(f"http://127.0.0.1:{port}/", HEADERS, b"{}", TIMEOUT_S)
        )
        await server.request_seen.wait()
        await server.close_idle_connections()
        with pytest.raises(ProviderConnectionError):
            await task


async def test_a_malformed_answer_is_an_error_and_the_connection_dropped(
    pool: ProviderPool,
) -> None:
    async def garbage(request: bytes, connection: int) -> bytes:
        return b"NOT HTTP AT ALL\r\n\r\n"

    async with serving(garbage) as (_, port):
        with pytest.raises(ProviderConnectionError, match="malformed HTTP answer"):
            await pool.post(f"http://127.0.0.1:{port}/", HEADERS, b"{}", TIMEOUT_S)
    assert pool.idle_connections() == 0


async def test_an_answer_over_the_size_limit_is_an_error(clock: FakeClock) -> None:
    pool = ProviderPool(clock, max_response_bytes=1024)

    async def huge(request: bytes, connection: int) -> bytes:
        return answer(body=b"x" * 4096)

    async with serving(huge) as (_, port):
        with pytest.raises(ProviderConnectionError, match="size limit"):
            await pool.post(f"http://127.0.0.1:{port}/", HEADERS, b"{}", TIMEOUT_S)
    await pool.close()


def held_on_first_connection(release: asyncio.Event) -> Reply:
    """Answers at once, except on the first connection, which waits for ``release``."""

    async def reply(request: bytes, connection: int) -> bytes:
        if connection == 1:
            await release.wait()
        return answer()

    return reply


async def test_cancelling_a_call_drops_its_connection(pool: ProviderPool) -> None:
    release = asyncio.Event()
    async with serving(held_on_first_connection(release)) as (server, port):
        url = f"http://127.0.0.1:{port}/"
        task = asyncio.create_task(pool.post(url, HEADERS, b"{}", TIMEOUT_S))
        await server.request_seen.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        release.set()  # the late answer must not be read as the next request's
        got = await pool.post(url, HEADERS, b"{}", TIMEOUT_S)
    assert got.status == 200
    assert server.connections == 2


async def test_no_answer_within_the_timeout_is_a_timeout_and_drops_the_connection(
    pool: ProviderPool,
) -> None:
    never = asyncio.Event()
    async with serving(held_on_first_connection(never)) as (server, port):
        url = f"http://127.0.0.1:{port}/"
        with pytest.raises(TimeoutError):
            await pool.post(url, HEADERS, b"{}", 0.05)
        assert pool.idle_connections() == 0
        got = await pool.post(url, HEADERS, b"{}", TIMEOUT_S)
    assert got.status == 200
    assert server.connections == 2


async def test_connections_idle_longer_than_the_limit_are_not_reused(
    pool: ProviderPool, clock: FakeClock
) -> None:
    async with serving(always_ok) as (server, port):
        url = f"http://127.0.0.1:{port}/"
        await pool.post(url, HEADERS, b"{}", TIMEOUT_S)
        clock.advance(29.0)
        await pool.post(url, HEADERS, b"{}", TIMEOUT_S)
        assert server.connections == 1
        clock.advance(31.0)
        await pool.post(url, HEADERS, b"{}", TIMEOUT_S)
    assert server.connections == 2


async def test_a_refused_connection_is_an_error(pool: ProviderPool) -> None:
    async with serving(always_ok) as (_, port):
        pass  # the port is free again
    with pytest.raises(ProviderConnectionError, match="cannot connect"):
        await pool.post(f"http://127.0.0.1:{port}/", HEADERS, b"{}", TIMEOUT_S)


async def test_a_line_break_in_a_header_value_is_refused(pool: ProviderPool) -> None:
    with pytest.raises(ValueError, match="line break"):
        await pool.post("http://127.0.0.1:9/", {"X-Evil": "a\r\nHost: b"}, b"{}", TIMEOUT_S)


async def test_urls_that_are_not_http_are_refused(pool: ProviderPool) -> None:
    with pytest.raises(ValueError, match="not an http"):
        await pool.post("ftp://127.0.0.1/", HEADERS, b"{}", TIMEOUT_S)


async def test_https_is_spoken_with_certificate_verification(
    pool: ProviderPool, tmp_path: Path
) -> None:
    cert, key = _self_signed_certificate(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    async with serving(always_ok, tls=server_tls) as (_, port):
        url = f"https://localhost:{port}/v1/chat/completions"
        with pytest.raises(ProviderConnectionError, match="cannot connect"):
            await pool.post(
                url, HEADERS, b"{}", TIMEOUT_S
            )  # the system trust store does not know it
        trusting = ProviderPool(FakeClock(), ssl_context=ssl.create_default_context(cafile=cert))
        try:
            got = await trusting.post(url, HEADERS, b"{}", TIMEOUT_S)
        finally:
            await trusting.close()
    assert (got.status, got.body) == (200, OK_BODY)


def _self_signed_certificate(directory: Path) -> tuple[str, str]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return str(cert), str(key)


async def test_informational_answers_are_skipped(pool: ProviderPool) -> None:
    async def early_hints_first(request: bytes, connection: int) -> bytes:
        return b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n" + answer()

    async with serving(early_hints_first) as (_, port):
        got = await pool.post(f"http://127.0.0.1:{port}/", HEADERS, b"{}", TIMEOUT_S)
    assert (got.status, got.body) == (200, OK_BODY)


@pytest.mark.parametrize(
    ("coding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),  # zlib framing, as RFC 9110 means it
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw, as some servers send it
    ],
)
async def test_gzip_and_deflate_answers_are_decoded(
    pool: ProviderPool, coding: str, encode: Callable[[bytes], bytes]
) -> None:
    async def compressed(request: bytes, connection: int) -> bytes:
        return answer(body=encode(OK_BODY), extra=f"Content-Encoding: {coding}\r\n")

    async with serving(compressed) as (server, port):
        got = await pool.post(f"http://127.0.0.1:{port}/", HEADERS, b"{}", TIMEOUT_S)
    assert got.body == OK_BODY
    assert _header(server.requests[0][1], b"accept-encoding") == b"gzip, deflate"


@pytest.mark.parametrize(
    ("coding", "body", "error"),
    [
        ("br", b"\x0b\x02\x80{}\x03", "unsupported Content-Encoding 'br'"),
        ("gzip", b"not gzip at all", "not valid gzip"),
        ("gzip", gzip.compress(b"x" * 100_000), "larger than the response size limit"),
    ],
)
async def test_undecodable_or_oversized_coded_answers_are_errors(
    clock: FakeClock, coding: str, body: bytes, error: str
) -> None:
    pool = ProviderPool(clock, max_response_bytes=10_000)

    async def coded(request: bytes, connection: int) -> bytes:
        return answer(body=body, extra=f"Content-Encoding: {coding}\r\n")

    async with serving(coded) as (_, port):
        with pytest.raises(ProviderConnectionError, match=error):
            await pool.post(f"http://127.0.0.1:{port}/", HEADERS, b"{}", TIMEOUT_S)
    await pool.close()
