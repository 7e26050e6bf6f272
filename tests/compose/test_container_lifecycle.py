"""What the containers' lifecycle does to traffic: the mock provider going away and coming
back, and the orchestrator being stopped while it serves a request.

While the mock-provider container is down both providers are down (both point at it), so no
answer can be a success. "Keeps answering" means: every request gets a clear error, fast,
never a hang: 502 with the attempt log while the orchestrator still tries the providers
(each attempt a connection error or a timeout), then 503 ``all_breakers_open`` with
``Retry-After`` at once (bar one early probe per deployment a second), and each answer inside
the request deadline. When the mock is back,
the breakers' probes find it and requests succeed again with no restart of the orchestrator.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from tests.compose.stack import (
    MOCK_PROVIDER,
    ORCHESTRATOR,
    StackUrls,
    answers_health,
    compose,
    container_id,
    container_state,
    run,
    wait_healthy,
)
from tests.scenarios.target import Target, chat_body

# Slack over the request deadline for an answer to reach the test through docker-proxy on a
# loaded two-core machine.
ANSWER_SLACK_S = 0.5
RECOVERY_TIMEOUT_S = 30.0
RECOVERY_POLL_INTERVAL_S = 0.1
FAILED_ATTEMPT_OUTCOMES = frozenset({"connection_error", "timeout"})
# Long enough for `docker stop` to land while the request waits for it; short enough that
# the whole stream fits the scenario deadline (3 s).
FIRST_TOKEN_DELAY_S = 1.5
DRAIN_TIMEOUT_S = 30.0
IN_FLIGHT_METRIC = b"orchestrator_requests_in_flight "


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    elapsed_s: float


async def _timed_chat(target: Target) -> Answer:
    started = time.perf_counter()
    status, body, headers = await target.chat(chat_body())
    return Answer(status, body, headers, time.perf_counter() - started)


def _assert_clear_failure(answer: Answer, deadline_s: float) -> None:
    assert answer.status in (502, 503, 504), answer.body
    assert answer.elapsed_s <= deadline_s + ANSWER_SLACK_S, answer
    error = answer.body["error"]
    assert error["message"]
    assert answer.body["request_id"]
    if error["code"] == "all_breakers_open":
        assert answer.status == 503
        assert int(answer.headers["Retry-After"]) >= 1
        # At most the one early probe a deployment takes per interval when all are open.
        log = answer.body["attempt_log"]
        assert len(log) <= 1, log
        assert {attempt["outcome"] for attempt in log} <= FAILED_ATTEMPT_OUTCOMES, log
    else:
        log = answer.body["attempt_log"]
        assert log, answer.body
        assert {attempt["outcome"] for attempt in log} <= FAILED_ATTEMPT_OUTCOMES, log


async def _first_success(target: Target, timeout_s: float) -> Answer:
    give_up_at = time.monotonic() + timeout_s
    while True:
        answer = await _timed_chat(target)
        if answer.status == 200:
            return answer
        _assert_clear_failure(answer, target.deadline_s)
        assert time.monotonic() < give_up_at, f"no success within {timeout_s} s: {answer}"
        await asyncio.sleep(RECOVERY_POLL_INTERVAL_S)


async def test_orchestrator_answers_clearly_while_the_mock_is_down_and_recovers_after(
    target: Target, restores_stack: StackUrls
) -> None:
    before = await _timed_chat(target)
    assert before.status == 200, before.body

    await compose("stop", MOCK_PROVIDER)
    # Enough requests for both breakers to open on the way: then the answer is immediate.
    down = [await _timed_chat(target) for _ in range(2 * target.failure_threshold)]
    for answer in down:
        _assert_clear_failure(answer, target.deadline_s)
    assert any(a.body["error"]["code"] == "all_breakers_open" for a in down), down

    await compose("start", MOCK_PROVIDER)
    await wait_healthy(target.http, restores_stack.mock_url)
    after = await _first_success(target, RECOVERY_TIMEOUT_S)
    assert after.body["content"]
    # A breaker that opened a moment after another may still be in its cool-down when the
    # first one's probe succeeds; none may stay open longer than one cool-down.
    give_up_at = time.monotonic() + target.open_duration_s + ANSWER_SLACK_S
    while True:
        health = await target.health()
        states = {d["state"] for d in health["deployments"].values()}
        if states <= {"closed", "half_open"}:
            break
        assert time.monotonic() < give_up_at, f"a breaker stayed open: {health}"
        await asyncio.sleep(RECOVERY_POLL_INTERVAL_S)


async def _in_flight(http: aiohttp.ClientSession, orchestrator_url: str) -> float:
    async with http.get(f"{orchestrator_url}/metrics") as response:
        exposition = await response.read()
    for line in exposition.splitlines():
        if line.startswith(IN_FLIGHT_METRIC):
            return float(line.removeprefix(IN_FLIGHT_METRIC))
    raise AssertionError("/metrics has no orchestrator_requests_in_flight")


async def _wait_in_flight(http: aiohttp.ClientSession, orchestrator_url: str) -> None:
    give_up_at = time.monotonic() + FIRST_TOKEN_DELAY_S
    while await _in_flight(http, orchestrator_url) < 1:
        assert time.monotonic() < give_up_at, "the slow request never reached the orchestrator"
        await asyncio.sleep(0.01)


@dataclass(frozen=True, slots=True)
class StreamResult:
    status: int
    content: str
    done: bool
    headers_at: float  # time.monotonic() when the status line arrived


async def _read_stream(target: Target) -> StreamResult:
    body = chat_body(stream=True)
    async with target.http.post(
        f"{target.orchestrator_url}/v1/chat/completions", json=body
    ) as response:
        headers_at = time.monotonic()
        content: list[str] = []
        done = False
        async for raw in response.content:
            line = raw.strip()
            if line == b"data: [DONE]":
                done = True
            elif line.startswith(b"data: "):
                chunk = orjson.loads(line.removeprefix(b"data: "))
                content.append(chunk["choices"][0]["delta"].get("content") or "")
        return StreamResult(response.status, "".join(content), done, headers_at)


async def _wait_not_accepting(http: aiohttp.ClientSession, orchestrator_url: str) -> float:
    """When the orchestrator stopped taking new connections (time.monotonic())."""
    give_up_at = time.monotonic() + DRAIN_TIMEOUT_S
    while await answers_health(http, orchestrator_url):
        assert time.monotonic() < give_up_at, "the orchestrator kept accepting after SIGTERM"
        await asyncio.sleep(0.01)
    return time.monotonic()


async def test_sigterm_lets_an_in_flight_request_finish_then_the_container_exits_cleanly(
    target: Target, restores_stack: StackUrls
) -> None:
    # Streaming, because a non-streaming attempt is capped by the 0.5 s attempt timeout;
    # a stream's attempt may wait for its first token up to the request deadline.
    await target.set_faults(
        {
            "provider": "openai",
            "script": ["slow_first_token"],
            "first_token_delay_seconds": FIRST_TOKEN_DELAY_S,
        }
    )
    container = await container_id(ORCHESTRATOR)
    request = asyncio.create_task(_read_stream(target))
    await _wait_in_flight(target.http, target.orchestrator_url)

    # `docker stop` is SIGTERM, then SIGKILL after the service's stop_grace_period (35 s).
    stop = asyncio.create_task(run("docker", "stop", container))
    stopped_accepting_at = await _wait_not_accepting(target.http, target.orchestrator_url)
    result = await request
    await stop

    # The server had stopped taking connections before this request's first byte: the
    # signal landed mid-request, and the request still finished whole.
    assert stopped_accepting_at < result.headers_at
    assert result.status == 200
    assert result.content
    assert result.done
    state = await container_state(container)
    assert (state.status, state.exit_code, state.oom_killed) == ("exited", 0, False)

    await compose("start", ORCHESTRATOR)
    await wait_healthy(target.http, restores_stack.orchestrator_url)
    status, body, _ = await target.chat(chat_body())
    assert status == 200, body
