"""Streaming through real processes: the orchestrator in front of the mock's stream faults.

Every point of the streaming guarantees is driven by a real mock fault and checked on the
wire (what the client read), in the mock's attempt log (what the providers saw) and in
the orchestrator's log (what it recorded, under the request id).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any, Final

import aiohttp
import openai
import orjson
import pytest

from tests.integration.conftest import start_orchestrator
from tests.scenarios.target import Target, chat_body
from tests.support.services import RunningService

ANTHROPIC_MODEL: Final = "claude-3-5-sonnet-20241022"
ROUTE_FIRST_TOKEN_S: Final = 0.4  # the gpt-4 route's own limit
GLOBAL_FIRST_TOKEN_S: Final = 2.0  # [stream] default, for every other route
IDLE_S: Final = 0.5
STREAM_ENV: Final = {
    "ORCH__STREAM__FIRST_TOKEN_TIMEOUT_S": str(GLOBAL_FIRST_TOKEN_S),
    "ORCH__STREAM__IDLE_TIMEOUT_S": str(IDLE_S),
    "ORCH__ROUTES__GPT-4__STREAM_FIRST_TOKEN_TIMEOUT_S": str(ROUTE_FIRST_TOKEN_S),
}
POLL_INTERVAL_S: Final = 0.02
LOG_WAIT_S: Final = 5.0  # generous: lines are flushed within 0.1 s
DONE: Final = b"[DONE]"


class StreamTarget(Target):
    """A :class:`Target` whose orchestrator runs with short stream limits, logs readable."""

    service: RunningService

    async def stream(
        self, body: dict[str, Any], request_id: str
    ) -> tuple[int, dict[str, str], list[Any]]:
        """POST a stream request; the events as decoded JSON (or ``b"[DONE]"``)."""
        async with self.http.post(
            f"{self.orchestrator_url}/v1/chat/completions",
            json={**body, "stream": True},
            headers={"X-Request-ID": request_id},
        ) as response:
            raw = await response.read()
            headers = dict(response.headers)
            if not headers["Content-Type"].startswith("text/event-stream"):
                return response.status, headers, [orjson.loads(raw)]
        assert raw.endswith(b"\n\n"), raw[-200:]
        events = [event.removeprefix(b"data: ") for event in raw[:-2].split(b"\n\n")]
        return response.status, headers, [e if e == DONE else orjson.loads(e) for e in events]

    async def plain_answer(self, content: str, model: str = "gpt-4") -> str:
        status, body, _ = await self.chat(chat_body(content, model))
        assert status == 200, body
        answer: str = body["content"]
        return answer

    async def breaker_failures(self, deployment: str) -> int:
        failures: int = (await self.health())["deployments"][deployment]["consecutive_failures"]
        return failures

    async def log_events(self, request_id: str, until: str) -> list[dict[str, Any]]:
        """The request's log lines, once its ``until`` event is among them (log lines are
        flushed in batches, up to 0.1 s after they are written)."""
        deadline = time.monotonic() + LOG_WAIT_S
        while True:
            lines = (
                orjson.loads(line) for line in self.service.logs().splitlines() if line[:1] == "{"
            )
            mine = [line for line in lines if line.get("request_id") == request_id]
            if until in [line.get("event") for line in mine] or time.monotonic() > deadline:
                return mine
            await asyncio.sleep(POLL_INTERVAL_S)


@pytest.fixture
async def st(mock_service: RunningService) -> AsyncIterator[StreamTarget]:
    service = start_orchestrator(mock_service, STREAM_ENV)

    async def no_restart() -> None:
        raise NotImplementedError

    async with aiohttp.ClientSession() as http:
        target = StreamTarget(service.base_url, mock_service.base_url, http, no_restart)
        target.service = service
        await target.reset_mock()
        yield target
    service.stop()


def text_of(events: list[Any]) -> str:
    return "".join(
        choice["delta"].get("content") or ""
        for event in events
        if isinstance(event, dict)
        for choice in event.get("choices", ())
    )


def finish_reasons(events: list[Any]) -> list[str]:
    return [
        choice["finish_reason"]
        for event in events
        if isinstance(event, dict)
        for choice in event.get("choices", ())
        if choice["finish_reason"] is not None
    ]


async def attempts_seen(target: Target, request_id: str) -> list[tuple[str, int | None]]:
    return [(e["provider"], e["status"]) for e in await target.mock_log(request_id=request_id)]


# --- 1. the shape of a healthy stream -------------------------------------------------------


async def test_healthy_openai_stream_is_the_plain_answer_in_chunks_ending_in_done(
    st: StreamTarget,
) -> None:
    answer = await st.plain_answer("Tell me about rivers")
    body = chat_body("Tell me about rivers", stream_options={"include_usage": True})
    status, headers, events = await st.stream(body, "s-healthy")
    assert status == 200
    assert headers["Content-Type"].startswith("text/event-stream")
    assert headers["X-Request-ID"] == "s-healthy"
    assert text_of(events) == answer
    assert events[-1] == DONE
    *chunks, usage_chunk, _ = events
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"]["completion_tokens"] > 0
    assert finish_reasons(events) == ["stop"]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert chunks[-1]["model"] == "gpt-4"
    assert chunks[-1]["request_id"] == "s-healthy"
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"


async def test_anthropic_stream_is_translated_to_openai_chunks(st: StreamTarget) -> None:
    answer = await st.plain_answer("Tell me about stars", ANTHROPIC_MODEL)
    status, _, events = await st.stream(chat_body("Tell me about stars", ANTHROPIC_MODEL), "s-an")
    assert status == 200
    assert text_of(events) == answer
    assert events[-1] == DONE
    assert {e["model"] for e in events[:-1]} == {ANTHROPIC_MODEL}
    assert finish_reasons(events) == ["stop"]
    assert "usage" not in events[-2]  # not asked for: no usage chunk, no usage fields


# --- 2. before the commit point: the decision table -------------------------------------------


async def test_server_error_before_the_first_token_is_retried_on_the_same_provider(
    st: StreamTarget,
) -> None:
    await st.set_faults({"provider": "openai", "script": ["500"]})
    status, _, events = await st.stream(chat_body(), "s-500")
    assert (status, events[-1]) == (200, DONE)
    assert await attempts_seen(st, "s-500") == [("openai", 500), ("openai", 200)]


async def test_rate_limit_before_the_first_token_fails_over(st: StreamTarget) -> None:
    await st.set_faults({"provider": "openai", "script": ["429"]})
    status, _, events = await st.stream(chat_body(), "s-429")
    assert (status, events[-1]) == (200, DONE)
    assert events[-2]["model"] == ANTHROPIC_MODEL
    assert await attempts_seen(st, "s-429") == [("openai", 429), ("anthropic", 200)]


async def test_stream_cut_before_any_content_is_a_failed_attempt_not_an_answer(
    st: StreamTarget,
) -> None:
    await st.set_faults(
        {"provider": "openai", "script": ["stream_cut"], "stream_cut_after_tokens": 0}
    )
    status, _, events = await st.stream(chat_body(), "s-cut0")
    assert (status, events[-1], finish_reasons(events)) == (200, DONE, ["stop"])
    assert len(await st.mock_log(request_id="s-cut0")) == 2


async def test_slow_first_token_fails_over_within_the_routes_own_limit(st: StreamTarget) -> None:
    await st.set_faults(
        {"provider": "openai", "script": ["slow_first_token"], "first_token_delay_seconds": 5}
    )
    started = time.monotonic()
    status, _, events = await st.stream(chat_body(), "s-ttft")
    assert (status, events[-1]) == (200, DONE)
    assert events[-2]["model"] == ANTHROPIC_MODEL
    # Failed over after the gpt-4 route's 0.4 s, not the 2 s every other route waits.
    assert time.monotonic() - started < GLOBAL_FIRST_TOKEN_S
    [attempt] = [
        e for e in await st.log_events("s-ttft", until="failed") if e.get("event") == "failed"
    ]
    assert attempt["error_kind"] == "timeout"


async def test_other_routes_wait_out_a_first_token_within_the_global_limit(
    st: StreamTarget,
) -> None:
    await st.set_faults(
        {"provider": "openai", "script": ["slow_first_token"], "first_token_delay_seconds": 0.8}
    )
    status, _, events = await st.stream(chat_body(model="gpt-4o"), "s-ttft-global")
    assert (status, events[-1], events[-2]["model"]) == (200, DONE, "gpt-4o")
    assert await attempts_seen(st, "s-ttft-global") == [("openai", 200)]


async def test_the_request_deadline_bounds_the_wait_for_a_first_token(st: StreamTarget) -> None:
    await st.set_faults(
        {"provider": "both", "faults": {"slow_first_token": 1.0}, "first_token_delay_seconds": 10}
    )
    started = time.monotonic()
    status, headers, [body] = await st.stream(chat_body(model="gpt-4o"), "s-deadline")
    elapsed_s = time.monotonic() - started
    assert status == 504
    assert headers["Content-Type"].startswith("application/json")
    assert body["error"]["code"] == "deadline_exceeded"
    assert elapsed_s < st.deadline_s + 1.0


# --- 3. after the commit point: in-band errors, never a dressed-up truncation --------------------


async def test_cut_after_the_first_tokens_ends_with_an_in_band_error_and_no_done(
    st: StreamTarget,
) -> None:
    await st.set_faults(
        {"provider": "openai", "script": ["stream_cut"], "stream_cut_after_tokens": 5}
    )
    status, _, events = await st.stream(chat_body(), "s-cut5")
    assert status == 200
    assert DONE not in events
    assert finish_reasons(events) == []
    assert len([e for e in events if e.get("choices")]) == 5
    error = events[-1]
    assert error["error"]["code"] == "stream_interrupted"
    assert error["request_id"] == "s-cut5"
    assert await st.breaker_failures("openai/gpt-4") == 1
    logged = [e["event"] for e in await st.log_events("s-cut5", until="stream_interrupted")]
    assert "stream_interrupted" in logged
    assert await attempts_seen(st, "s-cut5") == [("openai", 200)]  # no failover after commit


async def test_stall_after_the_first_tokens_ends_with_an_in_band_error_at_the_idle_limit(
    st: StreamTarget,
) -> None:
    await st.set_faults(
        {
            "provider": "openai",
            "script": ["stream_stall"],
            "stall_after_tokens": 3,
            "stall_seconds": 10,
        }
    )
    started = time.monotonic()
    status, _, events = await st.stream(chat_body(), "s-stall")
    elapsed_s = time.monotonic() - started
    assert status == 200
    assert (events[-1]["error"]["code"], DONE in events) == ("stream_stalled", False)
    assert finish_reasons(events) == []
    assert IDLE_S <= elapsed_s < IDLE_S + 2.0  # the idle limit, not the provider's 10 s stall
    assert await st.breaker_failures("openai/gpt-4") == 1
    assert "stream_stalled" in [
        e["event"] for e in await st.log_events("s-stall", until="stream_stalled")
    ]


# --- 4. malformed events and a missing terminator ------------------------------------------------


async def test_malformed_event_is_skipped_logged_and_counted(st: StreamTarget) -> None:
    answer = await st.plain_answer("Hello there")
    await st.set_faults(
        {
            "provider": "openai",
            "script": ["stream_malformed_event"],
            "malformed_event_after_tokens": 3,
        }
    )
    status, _, events = await st.stream(chat_body("Hello there"), "s-malformed")
    assert (status, text_of(events), events[-1]) == (200, answer, DONE)
    logged = {e["event"]: e for e in await st.log_events("s-malformed", until="stream_completed")}
    assert "stream_malformed_event" in logged
    assert logged["stream_completed"]["malformed_events"] == 1


async def test_stream_without_done_is_finalised_with_usage(st: StreamTarget) -> None:
    await st.set_faults({"provider": "both", "script": ["stream_no_done"]})
    for model in ("gpt-4", ANTHROPIC_MODEL):
        body = chat_body(model=model, stream_options={"include_usage": True})
        status, _, events = await st.stream(body, f"s-nodone-{model}")
        assert (status, events[-1], finish_reasons(events)) == (200, DONE, ["stop"])
        assert events[-2]["usage"]["total_tokens"] > 0


# --- 5. a client that leaves ----------------------------------------------------------------------


async def test_client_disconnect_cancels_the_upstream_request_at_once(st: StreamTarget) -> None:
    await st.set_faults({"provider": "openai", "token_interval_seconds": 0.1, "faults": {}})
    async with st.http.post(
        f"{st.orchestrator_url}/v1/chat/completions",
        json=chat_body(stream=True),
        headers={"X-Request-ID": "s-leave"},
    ) as response:
        assert response.status == 200
        await response.content.readuntil(b"\n\n")
        response.close()  # hang up after the first chunk; the answer needs seconds more
    left_at = time.monotonic()
    while not [e for e in await st.mock_log(request_id="s-leave") if e["disconnected"]]:
        assert time.monotonic() - left_at < 2.0, "the upstream request outlived its client"
        await asyncio.sleep(POLL_INTERVAL_S)
    logged = await st.log_events("s-leave", until="stream_client_disconnected")
    assert "stream_client_disconnected" in [e["event"] for e in logged]
    assert await st.breaker_failures("openai/gpt-4") == 0  # leaving is not the provider's fault


# --- 7. buffered mode: recovery after the first token, never spliced -----------------------------


async def test_buffered_mode_recovers_from_a_mid_answer_cut_without_duplicating_text(
    st: StreamTarget,
) -> None:
    answer = await st.plain_answer("Buffered please")
    await st.set_faults(
        {"provider": "openai", "script": ["stream_cut"], "stream_cut_after_tokens": 5}
    )
    body = chat_body("Buffered please", stream_mode="buffered")
    status, _, events = await st.stream(body, "s-buffered")
    assert (status, text_of(events), events[-1]) == (200, answer, DONE)
    assert finish_reasons(events) == ["stop"]
    assert await attempts_seen(st, "s-buffered") == [("openai", 200), ("openai", 200)]


async def test_buffered_mode_fails_over_from_a_stall(st: StreamTarget) -> None:
    await st.set_faults(
        {"provider": "openai", "faults": {"stream_stall": 1.0}, "stall_after_tokens": 3}
    )
    body = chat_body(stream_mode="buffered")
    status, _, events = await st.stream(body, "s-buffered-stall")
    assert (status, events[-1], events[-2]["model"]) == (200, DONE, ANTHROPIC_MODEL)
    failed = [
        e
        for e in await st.log_events("s-buffered-stall", until="failed")
        if e.get("event") == "failed"
    ]
    assert [(e["provider"], e["error_kind"]) for e in failed] == [("openai", "timeout")]


# --- the official SDK ----------------------------------------------------------------------------


def sdk(target: Target) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        base_url=f"{target.orchestrator_url}/v1", api_key="unused", max_retries=0
    )


async def test_openai_sdk_streams_a_healthy_answer(st: StreamTarget) -> None:
    answer = await st.plain_answer("SDK stream")
    async with sdk(st) as client:
        stream = await client.chat.completions.create(
            model="gpt-4",
            messages=[{"role": "user", "content": "SDK stream"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == answer
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0


async def test_openai_sdk_raises_on_the_in_band_error_of_a_cut_stream(st: StreamTarget) -> None:
    await st.set_faults(
        {"provider": "openai", "script": ["stream_cut"], "stream_cut_after_tokens": 4}
    )
    received: list[str] = []
    async with sdk(st) as client:
        stream = await client.chat.completions.create(
            model="gpt-4", messages=[{"role": "user", "content": "cut me"}], stream=True
        )

        async def read_all() -> None:
            async for chunk in stream:
                received.append(chunk.choices[0].delta.content or "")

        with pytest.raises(openai.APIError) as raised:
            await read_all()
    assert len(received) == 4
    assert isinstance(raised.value.body, dict)
    assert raised.value.body["code"] == "stream_interrupted"
    assert "incomplete" in raised.value.message
