"""The streaming path in-process: the real app against a scripted provider over real HTTP.

The mock provider cannot send every upstream misbehaviour (an error event, a terminator
before any content, a JSON body to a stream request), so a tiny provider here scripts the
exact bytes; the process-level tests with the real mock live in tests/integration.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from orchestrator.app import create_app
from orchestrator.config import load_config
from orchestrator.routing.router import Deployment
from orchestrator.streaming.observer import (
    STREAM_OBSERVER_KEY,
    StreamEnd,
    StreamObserver,
    StreamReport,
)

OPENAI_PATH: Final = "/v1/chat/completions"
ANTHROPIC_PATH: Final = "/v1/messages"
HANG: Final = b"<hang>"  # a step: go silent until the test ends
GATE: Final = b"<gate>"  # a step: wait until the client has read the first event
PAUSE: Final = b"<pause>"  # a step: the provider takes a tenth of a second


def sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    body = data if isinstance(data, bytes) else orjson.dumps(data)
    return head + b"data: " + body + b"\n\n"


def oa(delta: dict[str, Any], finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return sse({"id": "chatcmpl-up", "object": "chat.completion.chunk", "choices": [choice]})


OA_USAGE: Final = sse(
    {"id": "x", "choices": [], "usage": {"prompt_tokens": 2, "completion_tokens": 2}}
)
OA_DONE: Final = sse(b"[DONE]")


def openai_answer(*words: str) -> list[bytes]:
    return [oa({"role": "assistant", "content": ""}), *(oa({"content": w}) for w in words),
            oa({}, "stop"), OA_USAGE, OA_DONE]  # fmt: skip


def anthropic_answer(*words: str) -> list[bytes]:
    message = {"id": "msg_up", "type": "message", "usage": {"input_tokens": 5, "output_tokens": 1}}
    deltas = [
        sse({"type": "content_block_delta", "index": 0,
             "delta": {"type": "text_delta", "text": w}}, "content_block_delta")
        for w in words
    ]  # fmt: skip
    return [
        sse({"type": "message_start", "message": message}, "message_start"),
        *deltas,
        sse({"type": "message_delta", "delta": {"stop_reason": "end_turn"},
             "usage": {"output_tokens": len(words)}}, "message_delta"),
        sse({"type": "message_stop"}, "message_stop"),
    ]  # fmt: skip


@dataclass
class Reply:
    steps: Sequence[bytes] = ()
    status: int = 200
    content_type: str = "text/event-stream"


@dataclass
class ScriptedProvider:
    """Answers each path from its script, the last reply repeating; counts the calls."""

    scripts: dict[str, list[Reply]] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    gate: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        self.calls[request.path] = self.calls.get(request.path, 0) + 1
        script = self.scripts.get(request.path) or [Reply(openai_answer("fine"))]
        reply = script.pop(0) if len(script) > 1 else script[0]
        if reply.status != 200 or reply.content_type != "text/event-stream":
            if HANG in reply.steps:
                await self.release.wait()
            return web.Response(
                status=reply.status, body=b"".join(reply.steps), content_type=reply.content_type
            )
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for step in reply.steps:
            if step == HANG:
                await self.release.wait()
            elif step == GATE:
                await self.gate.wait()
            elif step == PAUSE:
                await asyncio.sleep(0.1)
            else:
                await response.write(step)
        return response


class RecordingObserver:
    """Records what the app's own observer (its telemetry) is told, and passes it on."""

    def __init__(self, telemetry: StreamObserver) -> None:
        self.telemetry = telemetry
        self.malformed: list[str] = []
        self.ends: list[StreamReport] = []

    def on_malformed_event(self, deployment: Deployment, reason: str) -> None:
        self.malformed.append(reason)
        self.telemetry.on_malformed_event(deployment, reason)

    def on_stream_end(self, deployment: Deployment, report: StreamReport) -> None:
        self.ends.append(report)
        self.telemetry.on_stream_end(deployment, report)


@dataclass
class Stack:
    provider: ScriptedProvider
    client: TestClient[web.Request, web.Application]
    observer: RecordingObserver

    async def stream(self, model: str = "gpt-4", **extra: Any) -> tuple[int, list[Any], Any]:
        body = {"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": True}
        async with self.client.post(OPENAI_PATH, json={**body, **extra}) as response:
            if response.content_type != "text/event-stream":
                return response.status, [orjson.loads(await response.read())], response.headers
            # The first event has reached the client: the provider may go on (GATE).
            first = await response.content.readuntil(b"\n\n")
            self.provider.gate.set()
            raw = first + await response.read()
            events = [line[len(b"data: ") :] for line in raw.split(b"\n\n") if line]
            decoded = [e if e == b"[DONE]" else orjson.loads(e) for e in events]
            return response.status, decoded, response.headers

    async def breaker(self, key: str) -> dict[str, Any]:
        async with self.client.get("/health") as response:
            deployments: dict[str, dict[str, Any]] = (await response.json())["deployments"]
            return deployments[key]


StackFactory = Callable[..., Awaitable[Stack]]


@pytest.fixture
async def make_stack() -> AsyncIterator[StackFactory]:
    opened: list[tuple[ScriptedProvider, TestServer, TestClient[web.Request, web.Application]]] = []

    async def make(scripts: dict[str, list[Reply]], **env: str) -> Stack:
        provider = ScriptedProvider(scripts)
        fake = web.Application()
        fake.router.add_post(OPENAI_PATH, provider.handle)
        fake.router.add_post(ANTHROPIC_PATH, provider.handle)
        server = TestServer(fake)
        await server.start_server()
        environ = {
            "ORCH_MOCK_BASE_URL": str(server.make_url("")).rstrip("/"),
            "ORCH__RETRY__BACKOFF__BASE_S": "0.01",
            "ORCH__RETRY__BACKOFF__CAP_S": "0.02",
            "ORCH__STREAM__FIRST_TOKEN_TIMEOUT_S": "2",
            "ORCH__STREAM__IDLE_TIMEOUT_S": "2",
            **env,
        }
        app = create_app(load_config(None, environ))
        observer = RecordingObserver(app[STREAM_OBSERVER_KEY])
        app[STREAM_OBSERVER_KEY] = observer
        client = TestClient(TestServer(app))
        await client.start_server()
        opened.append((provider, server, client))
        return Stack(provider, client, observer)

    yield make
    for provider, server, client in opened:
        provider.release.set()
        await client.close()
        await server.close()


def text_of(events: list[Any]) -> str:
    return "".join(
        e["choices"][0]["delta"].get("content") or ""
        for e in events
        if isinstance(e, dict) and e.get("choices")
    )


async def test_error_event_as_first_event_fails_over_before_anything_is_sent(
    make_stack: StackFactory,
) -> None:
    overloaded = {"error": {"message": "overloaded", "type": "server_error", "code": None}}
    stack = await make_stack(
        {
            OPENAI_PATH: [Reply([sse(overloaded)])],
            ANTHROPIC_PATH: [Reply(anthropic_answer("from", " claude"))],
        },
        ORCH__RETRY__MAX_ATTEMPTS_PER_DEPLOYMENT="1",
    )
    status, events, _ = await stack.stream()
    assert status == 200
    assert text_of(events) == "from claude"
    assert events[-1] == b"[DONE]"
    assert events[-2]["model"] == "claude-3-5-sonnet-20241022"
    assert stack.provider.calls == {OPENAI_PATH: 1, ANTHROPIC_PATH: 1}


async def test_terminator_before_any_content_is_a_failed_attempt(make_stack: StackFactory) -> None:
    stack = await make_stack({OPENAI_PATH: [Reply([OA_DONE]), Reply(openai_answer("again"))]})
    status, events, _ = await stack.stream()
    assert (status, text_of(events)) == (200, "again")
    assert stack.provider.calls == {OPENAI_PATH: 2}


async def test_no_first_token_in_time_fails_over(make_stack: StackFactory) -> None:
    stack = await make_stack(
        {OPENAI_PATH: [Reply([oa({"role": "assistant"}), HANG])]},
        ORCH__STREAM__FIRST_TOKEN_TIMEOUT_S="0.2",
    )
    stack.provider.scripts[ANTHROPIC_PATH] = [Reply(anthropic_answer("quick"))]
    status, events, _ = await stack.stream()
    assert (status, text_of(events)) == (200, "quick")
    assert stack.provider.calls == {OPENAI_PATH: 1, ANTHROPIC_PATH: 1}


async def test_request_deadline_bounds_the_wait_for_the_first_token(
    make_stack: StackFactory,
) -> None:
    stack = await make_stack(
        {OPENAI_PATH: [Reply([HANG])], ANTHROPIC_PATH: [Reply([HANG])]},
        ORCH__STREAM__FIRST_TOKEN_TIMEOUT_S="30",
        ORCH__DEADLINE__REQUEST_DEADLINE_S="0.3",
    )
    status, [body], headers = await asyncio.wait_for(stack.stream(), timeout=5)
    assert status == 504
    assert body["error"]["code"] == "deadline_exceeded"
    assert headers["Content-Type"].startswith("application/json")


async def test_client_error_before_commit_is_a_plain_json_error(make_stack: StackFactory) -> None:
    bad = orjson.dumps({"error": {"message": "bad temperature", "type": "invalid_request_error"}})
    stack = await make_stack(
        {OPENAI_PATH: [Reply([bad], status=400, content_type="application/json")]}
    )
    status, [body], _ = await stack.stream()
    assert status == 400
    assert "bad temperature" in body["error"]["message"]
    assert stack.provider.calls == {OPENAI_PATH: 1}


async def test_error_event_after_the_first_token_ends_in_band_and_counts_on_the_breaker(
    make_stack: StackFactory,
) -> None:
    error = sse({"error": {"message": "model crashed", "type": "server_error"}})
    stack = await make_stack({OPENAI_PATH: [Reply([oa({"content": "Half"}), GATE, error])]})
    status, events, _ = await stack.stream()
    assert status == 200
    assert text_of(events) == "Half"
    assert b"[DONE]" not in events
    assert all(c["finish_reason"] is None for e in events[:-1] for c in e["choices"])
    last = events[-1]
    assert last["error"]["code"] == "upstream_stream_error"
    assert "model crashed" in last["error"]["message"]
    assert last["request_id"]
    assert (await stack.breaker("openai/gpt-4"))["consecutive_failures"] == 1
    assert [r.end for r in stack.observer.ends] == [StreamEnd.UPSTREAM_ERROR]


async def test_an_error_read_with_the_first_token_before_any_write_is_still_retried(
    make_stack: StackFactory,
) -> None:
    error = sse({"error": {"message": "model crashed", "type": "server_error"}})
    stack = await make_stack(
        {OPENAI_PATH: [Reply([oa({"content": "Half"}), error]), Reply(openai_answer("Whole"))]}
    )
    status, events, _ = await stack.stream()
    assert (status, text_of(events), events[-1]) == (200, "Whole", b"[DONE]")
    assert stack.provider.calls == {OPENAI_PATH: 2}


async def test_malformed_event_is_skipped_counted_and_the_stream_goes_on(
    make_stack: StackFactory,
) -> None:
    answer = openai_answer("a", "b")
    answer.insert(2, b'data: {"choices": [{"del\n\n')
    stack = await make_stack({OPENAI_PATH: [Reply(answer)]})
    status, events, _ = await stack.stream()
    assert (status, text_of(events), events[-1]) == (200, "ab", b"[DONE]")
    assert len(stack.observer.malformed) == 1
    [report] = stack.observer.ends
    assert (report.end, report.malformed_events) == (StreamEnd.COMPLETED, 1)


async def test_json_answer_to_a_stream_request_is_streamed_whole(make_stack: StackFactory) -> None:
    whole = orjson.dumps({
        "id": "chatcmpl-json", "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "whole"},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1},
    })  # fmt: skip
    stack = await make_stack({OPENAI_PATH: [Reply([whole], content_type="application/json")]})
    status, events, _ = await stack.stream(stream_options={"include_usage": True})
    assert (status, text_of(events)) == (200, "whole")
    assert events[-2]["usage"]["total_tokens"] == 2


async def test_buffered_mode_fails_over_after_a_mid_answer_cut_without_splicing(
    make_stack: StackFactory,
) -> None:
    stack = await make_stack(
        {
            OPENAI_PATH: [Reply([oa({"content": "openai "}), oa({"content": "half"})])],
            ANTHROPIC_PATH: [Reply(anthropic_answer("claude", " whole"))],
        },
        ORCH__RETRY__MAX_ATTEMPTS_PER_DEPLOYMENT="1",
    )
    status, events, _ = await stack.stream(stream_mode="buffered")
    assert (status, text_of(events), events[-1]) == (200, "claude whole", b"[DONE]")
    assert stack.provider.calls == {OPENAI_PATH: 1, ANTHROPIC_PATH: 1}


async def test_buffered_mode_treats_a_stall_as_a_timeout_and_fails_over(
    make_stack: StackFactory,
) -> None:
    stack = await make_stack(
        {
            OPENAI_PATH: [Reply([oa({"content": "stuck"}), HANG])],
            ANTHROPIC_PATH: [Reply(anthropic_answer("done"))],
        },
        ORCH__STREAM__IDLE_TIMEOUT_S="0.2",
        ORCH__STREAM__MODE="buffered",
    )
    status, events, _ = await stack.stream()
    assert (status, text_of(events), events[-1]) == (200, "done", b"[DONE]")


async def test_a_stream_s_journey_tells_how_the_stream_ended_not_its_commit_point(
    make_stack: StackFactory,
) -> None:
    error = sse({"error": {"message": "model crashed", "type": "server_error"}})
    stack = await make_stack({OPENAI_PATH: [Reply([oa({"content": "Half"}), GATE, error])]})
    status, _, headers = await stack.stream()
    assert status == 200
    async with stack.client.get(f"/v1/requests/{headers['X-Request-ID']}") as response:
        journey = await response.json()
    assert journey["outcome"] == "upstream_stream_error"
    assert journey["stream"]["end"] == "upstream_stream_error"
    assert journey["error"]["code"] == "upstream_stream_error"


async def test_a_stream_kept_alive_only_by_pings_ends_as_stalled(make_stack: StackFactory) -> None:
    pings = [step for _ in range(30) for step in (PAUSE, b": ping\n\n", oa({"content": ""}))]
    stack = await make_stack(
        {OPENAI_PATH: [Reply([oa({"content": "Half"}), GATE, *pings])]},
        ORCH__STREAM__IDLE_TIMEOUT_S="0.35",
    )
    started = asyncio.get_running_loop().time()
    status, events, _ = await stack.stream()
    elapsed = asyncio.get_running_loop().time() - started
    assert status == 200
    assert events[-1]["error"]["code"] == "stream_stalled"
    assert "no content for 0.35 s" in events[-1]["error"]["message"]
    assert elapsed < 2.0  # the pings went on for 3 s: they did not keep it alive
    assert [r.end for r in stack.observer.ends] == [StreamEnd.STALLED]


async def test_every_stream_has_a_duration_limit(make_stack: StackFactory) -> None:
    words = [step for _ in range(30) for step in (PAUSE, oa({"content": "word "}))]
    stack = await make_stack(
        {OPENAI_PATH: [Reply([oa({"content": "Start "}), GATE, *words])]},
        ORCH__STREAM__MAX_DURATION_S="0.5",
    )
    status, events, _ = await stack.stream()
    assert status == 200
    assert events[-1]["error"]["code"] == "stream_too_long"
    assert "duration limit of 0.5 s" in events[-1]["error"]["message"]
    assert text_of(events).startswith("Start word")
    assert [r.end for r in stack.observer.ends] == [StreamEnd.TOO_LONG]
