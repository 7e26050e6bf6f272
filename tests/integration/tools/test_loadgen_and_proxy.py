"""The bench's load generator and its pass-through proxy against real loopback servers."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from tools.bench_processes import free_port
from tools.loadgen import LoadError, closed_loop, sequential_latencies_s
from tools.passthrough_proxy import ProxyConfig, create_app

MakeServer = Callable[[web.Application], Awaitable[TestServer]]
MakeClient = Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]]
BODY = b'{"model":"gpt-4","messages":[{"role":"user","content":"Say hello"}]}'


@dataclass
class Upstream:
    """Answers every POST with ``status``; remembers what it saw and on which connection."""

    status: int = 200
    bodies: list[bytes] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    connections: set[int] = field(default_factory=set)

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.read())
        self.headers.append(dict(request.headers))
        self.connections.add(id(request.transport))
        return web.json_response({"echo": len(self.bodies)}, status=self.status)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.handle)
        return app


async def test_latencies_use_one_kept_alive_connection_per_target(
    aiohttp_server: MakeServer,
) -> None:
    first, second = Upstream(), Upstream()
    servers = [await aiohttp_server(first.app()), await aiohttp_server(second.app())]
    targets = {
        name: str(server.make_url("/v1/chat/completions"))
        for name, server in zip(("first", "second"), servers, strict=True)
    }
    samples = await sequential_latencies_s(targets, BODY, requests=20, warmup_requests=5)
    assert {name: len(values) for name, values in samples.items()} == {"first": 20, "second": 20}
    assert all(values == sorted(values) and values[0] > 0 for values in samples.values())
    assert len(first.bodies) == len(second.bodies) == 25
    assert len(first.connections) == len(second.connections) == 1
    assert set(first.bodies) == {BODY}


async def test_latency_run_stops_at_a_non_2xx_answer(aiohttp_server: MakeServer) -> None:
    failing = Upstream(status=503)
    server = await aiohttp_server(failing.app())
    url = str(server.make_url("/v1/chat/completions"))
    with pytest.raises(LoadError, match="HTTP 503"):
        await sequential_latencies_s({"failing": url}, BODY, requests=10, warmup_requests=0)
    assert len(failing.bodies) == 1


def _step_clock() -> Callable[[], float]:
    """Each reading one second later than the last: the run's length is its number of reads."""
    ticks = itertools.count()
    return lambda: float(next(ticks))


async def test_closed_loop_sends_until_the_duration_is_over(aiohttp_server: MakeServer) -> None:
    upstream = Upstream()
    server = await aiohttp_server(upstream.app())
    url = str(server.make_url("/v1/chat/completions"))
    # Start reads 0, so the deadline is 5: the reads 1..4 each admit one request.
    result = await closed_loop(url, BODY, connections=3, duration_s=5, clock=_step_clock())
    assert result.requests == len(upstream.bodies) == 4
    assert (result.non_2xx, result.errors) == (0, 0)
    assert result.elapsed_s > 0


async def test_closed_loop_counts_non_2xx_and_connection_errors(
    aiohttp_server: MakeServer,
) -> None:
    server = await aiohttp_server(Upstream(status=429).app())
    url = str(server.make_url("/v1/chat/completions"))
    limited = await closed_loop(url, BODY, connections=2, duration_s=4, clock=_step_clock())
    assert (limited.requests, limited.non_2xx) == (3, 3)
    closed = f"http://127.0.0.1:{free_port()}/v1/chat/completions"
    refused = await closed_loop(closed, BODY, connections=2, duration_s=4, clock=_step_clock())
    assert (refused.requests, refused.errors) == (0, 3)


async def test_proxy_forwards_the_body_and_returns_the_upstream_answer(
    aiohttp_server: MakeServer, aiohttp_client: MakeClient
) -> None:
    upstream = Upstream(status=201)
    server = await aiohttp_server(upstream.app())
    proxy = await aiohttp_client(create_app(ProxyConfig(str(server.make_url("/")))))
    response = await proxy.post(
        "/v1/chat/completions",
        data=BODY,
        headers={"Content-Type": "application/json", "X-Request-ID": "req_1"},
    )
    assert response.status == 201
    assert await response.json() == {"echo": 1}
    assert response.content_type == "application/json"
    assert upstream.bodies == [BODY]
    assert upstream.headers[0]["X-Request-ID"] == "req_1"


async def test_proxy_reuses_one_upstream_connection(
    aiohttp_server: MakeServer, aiohttp_client: MakeClient
) -> None:
    upstream = Upstream()
    server = await aiohttp_server(upstream.app())
    proxy = await aiohttp_client(create_app(ProxyConfig(str(server.make_url("")))))
    for _ in range(5):
        response = await proxy.post("/v1/chat/completions", data=BODY)
        assert response.status == 200
    assert len(upstream.connections) == 1


async def test_proxy_answers_502_when_the_upstream_is_down(aiohttp_client: MakeClient) -> None:
    proxy = await aiohttp_client(create_app(ProxyConfig(f"http://127.0.0.1:{free_port()}")))
    response = await proxy.post("/v1/chat/completions", data=BODY)
    assert response.status == 502
    assert "upstream unreachable" in (await response.json())["error"]["message"]


async def test_proxy_health_is_ok(aiohttp_client: MakeClient) -> None:
    proxy = await aiohttp_client(create_app(ProxyConfig("http://127.0.0.1:1")))
    response = await proxy.get("/health")
    assert response.status == 200


def test_proxy_config_names_a_bad_upstream_url() -> None:
    with pytest.raises(ValueError, match=r"upstream_url='127\.0\.0\.1:8001'"):
        ProxyConfig("127.0.0.1:8001")
