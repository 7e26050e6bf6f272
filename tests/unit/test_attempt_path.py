"""The one attempt path through the transport seam: the real app with a transport of the
test's own in place of the network (as httpx's MockTransport replaces its network).

Whatever the transport raises, the attempt ends as an outcome: a failed attempt in the
log, a failover, the breaker counting it, a half-open probe slot never left taken.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from orchestrator.app import create_app
from orchestrator.config import load_config
from orchestrator.http.keys import BREAKERS_KEY, TELEMETRY_KEY, TRANSPORT_KEY, Runtime
from orchestrator.transport.base import UpstreamAnswer, UpstreamRequest
from tests.unit.fakes import FakeAnswer, FakeClock

OPENAI_CHAT = {"object": "chat.completion", "id": "c1", "choices": [
    {"index": 0, "message": {"role": "assistant", "content": "from openai"},
     "finish_reason": "stop"}], "usage": {"prompt_tokens": 1, "completion_tokens": 2}}  # fmt: skip
ANTHROPIC_MESSAGE = {"type": "message", "id": "m1", "content": [
    {"type": "text", "text": "from anthropic"}], "stop_reason": "end_turn",
    "usage": {"input_tokens": 1, "output_tokens": 2}}  # fmt: skip
ANTHROPIC_SSE = (
    b'event: message_start\ndata: {"type":"message_start","message":{"id":"m1",'
    b'"usage":{"input_tokens":1}}}\n\n'
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
    b'"delta":{"type":"text_delta","text":"streamed"}}\n\n'
    b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},'
    b'"usage":{"output_tokens":1}}\n\n'
    b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
)


class Poison(Exception):
    """Nothing in the orchestrator knows this exception."""


Script = Callable[[UpstreamRequest, bool], Awaitable[UpstreamAnswer]]


class ScriptedTransport:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.sent: list[str] = []

    async def send(
        self, request: UpstreamRequest, timeout_s: float, *, stream: bool = False
    ) -> UpstreamAnswer:
        self.sent.append(request.url.rsplit("/", 1)[-1])
        return await self.script(request, stream)

    async def close(self) -> None:
        pass


async def openai_poisoned(request: UpstreamRequest, stream: bool) -> UpstreamAnswer:
    if request.url.endswith("/chat/completions"):
        raise Poison("nobody saw this coming")
    if stream:
        return FakeAnswer(ANTHROPIC_SSE, "text/event-stream")
    return FakeAnswer(orjson.dumps(ANTHROPIC_MESSAGE))


Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def make_client() -> AsyncIterator[Callable[..., Awaitable[Client]]]:
    clients: list[Client] = []

    async def make(transport: ScriptedTransport, clock: FakeClock | None = None) -> Client:
        environ = {"ORCH__BREAKER__FAILURE_THRESHOLD": "1", "ORCH__BREAKER__OPEN_DURATION_S": "5"}
        runtime = Runtime(clock=clock or FakeClock(), random=lambda: 0.0)
        app = create_app(load_config(None, environ), runtime)
        app[TRANSPORT_KEY] = transport  # the seam: no network below this line
        client = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


async def chat(client: Client, **extra: Any) -> tuple[int, dict[str, Any]]:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], **extra}
    async with client.post("/v1/chat/completions", json=body) as response:
        return response.status, await response.json()


async def test_an_exception_nobody_foresaw_is_a_failed_attempt_and_a_failover(
    make_client: Callable[..., Awaitable[Client]],
) -> None:
    transport = ScriptedTransport(openai_poisoned)
    client = await make_client(transport)
    status, body = await chat(client)
    assert status == 200
    assert body["content"] == "from anthropic"
    first, second = body["attempt_log"]
    assert (first["provider"], first["outcome"], first["decision"]) == (
        "openai",
        "unexpected_error",
        "failover",
    )
    assert "Poison: nobody saw this coming" in first["error"]
    assert second["outcome"] == "success"
    breaker = client.app[BREAKERS_KEY].get("openai/gpt-4o")
    assert breaker.consecutive_failures == 1
    assert breaker.state == "open"  # threshold 1: the breaker heard of it


async def test_a_poisoned_half_open_probe_does_not_keep_the_probe_slot(
    make_client: Callable[..., Awaitable[Client]],
) -> None:
    poisoned = True

    async def script(request: UpstreamRequest, stream: bool) -> UpstreamAnswer:
        if poisoned:
            return await openai_poisoned(request, stream)
        return FakeAnswer(orjson.dumps(OPENAI_CHAT))

    clock = FakeClock()
    client = await make_client(ScriptedTransport(script), clock)
    await chat(client)  # opens openai's breaker
    clock.advance(5.0)
    status, body = await chat(client)  # the half-open probe is poisoned too
    assert status == 200
    assert body["attempt_log"][0]["outcome"] == "unexpected_error"
    poisoned = False
    clock.advance(5.0)
    status, body = await chat(client)  # the next probe is admitted: the slot was freed
    assert status == 200
    assert body["provider"] == "openai"
    snapshot = client.app[BREAKERS_KEY].get("openai/gpt-4o").snapshot()
    assert (snapshot["state"], snapshot["half_open_successes"]) == ("half_open", 1)


async def test_a_streamed_attempt_that_raises_before_its_first_token_fails_over(
    make_client: Callable[..., Awaitable[Client]],
) -> None:
    broken = FakeAnswer(
        b"", "text/event-stream", fail_with=Poison("the stream went wrong in a way nobody foresaw")
    )

    async def script(request: UpstreamRequest, stream: bool) -> UpstreamAnswer:
        if request.url.endswith("/chat/completions"):
            return broken
        return FakeAnswer(ANTHROPIC_SSE, "text/event-stream")

    transport = ScriptedTransport(script)
    client = await make_client(transport)
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    async with client.post("/v1/chat/completions", json=body) as response:
        text = await response.text()
    assert response.status == 200
    assert '"content":"streamed"' in text
    assert text.rstrip().endswith("data: [DONE]")
    assert transport.sent == ["completions", "messages"]
    assert broken.closed  # the provider was told to stop
    assert client.app[BREAKERS_KEY].get("openai/gpt-4o").consecutive_failures == 1


async def test_a_client_that_leaves_before_any_answer_is_counted() -> None:
    sent = asyncio.Event()

    async def hang(request: UpstreamRequest, stream: bool) -> UpstreamAnswer:
        sent.set()
        await asyncio.Event().wait()  # a provider that never answers
        raise AssertionError("unreachable")

    app = create_app(load_config(None, {}), Runtime(random=lambda: 0.0))
    app[TRANSPORT_KEY] = ScriptedTransport(hang)
    server = TestServer(app, handler_cancellation=True)
    client = TestClient(server)
    await client.start_server()
    try:
        body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
        post = asyncio.create_task(client.post("/v1/chat/completions", json=body))
        await sent.wait()
        post.cancel()  # the caller hangs up
        with contextlib.suppress(asyncio.CancelledError):
            await post
        metrics = client.app[TELEMETRY_KEY].metrics
        for _ in range(100):  # the server notices the closed connection on its next turn
            value = metrics.registry.get_sample_value(
                "orchestrator_requests_total",
                {"model": "gpt-4o", "provider": "none", "outcome": "client_disconnected"},
            )
            if value:
                break
            await asyncio.sleep(0.01)
        assert value == 1.0
    finally:
        await client.close()
