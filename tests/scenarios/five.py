"""The five scenarios of the product, plus the guarantees around them.

Each function drives the mock's control API, calls the orchestrator over HTTP and checks
both the answer and what the mock saw (its attempt log is the ground truth of how many
calls were made, to whom, and how far apart).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import Any, Final

from orchestrator.policies import BreakerPolicy
from tests.scenarios.target import Target, chat_body

OPENAI_DEPLOYMENT = "openai/gpt-4"
ANTHROPIC_MODEL = "claude-3-5-sonnet-20241022"
POLL_INTERVAL_S = 0.02
# The default half-open rule: this many successful probes close the breaker.
HALF_OPEN_SUCCESSES_NEEDED: Final = BreakerPolicy().half_open_successes_needed


async def happy_path(target: Target) -> None:
    status, body, headers = await target.chat(chat_body(), headers={"X-Request-ID": "happy-1"})
    assert status == 200, body
    assert body["attempts"] == 1
    assert body["provider"] == "openai"
    assert body["model"] == "gpt-4"
    assert body["object"] == "chat.completion"
    assert body["content"] == body["choices"][0]["message"]["content"]
    assert body["content"]
    assert body["request_id"] == "happy-1"
    assert headers["X-Request-ID"] == "happy-1"
    assert body["usage"]["total_tokens"] > 0
    seen = await target.mock_log(request_id="happy-1")
    assert [(e["provider"], e["attempt"], e["status"]) for e in seen] == [("openai", 1, 200)]


async def timeout_then_retry(target: Target) -> None:
    """Both providers go silent once: fail over at once, then back off and retry."""
    await target.set_faults(
        {"provider": "both", "script": ["timeout", "ok"], "timeout_duration_seconds": 2}
    )
    status, body, _ = await target.chat(chat_body(), headers={"X-Request-ID": "timeout-1"})
    assert status == 200, body
    log = body["attempt_log"]
    assert [(a["provider"], a["outcome"]) for a in log] == [
        ("openai", "timeout"),
        ("anthropic", "timeout"),
        ("openai", "success"),
    ]
    assert log[1]["backoff_ms"] == 0  # switching provider never waits
    assert log[2]["backoff_ms"] > 0  # a new round over the same providers does
    seen = await target.mock_log(request_id="timeout-1")
    assert [e["attempt"] for e in seen] == [1, 2, 3]
    # The backoff was really waited: the third attempt reached the mock at least that long
    # after the second (whose own 0.5 s timeout dwarfs any connection-setup jitter).
    gap_s = seen[2]["time"] - seen[1]["time"]
    assert gap_s * 1000 >= log[2]["backoff_ms"]


async def rate_limit_failover(target: Target) -> None:
    await target.set_faults({"provider": "openai", "script": ["429"]})
    status, body, _ = await target.chat(chat_body(), headers={"X-Request-ID": "ratelimit-1"})
    assert status == 200, body
    assert body["provider"] == "anthropic"
    assert body["model"] == ANTHROPIC_MODEL
    assert body["attempts"] == 2
    first, second = body["attempt_log"]
    assert (first["provider"], first["status"], first["outcome"]) == ("openai", 429, "rate_limited")
    assert (second["provider"], second["backoff_ms"]) == ("anthropic", 0)
    seen = await target.mock_log(request_id="ratelimit-1")
    assert [(e["provider"], e["status"]) for e in seen] == [("openai", 429), ("anthropic", 200)]


async def _breaker_state(target: Target, deployment: str) -> str:
    state: str = (await target.health())["deployments"][deployment]["state"]
    return state


async def _wait_for_breaker(target: Target, deployment: str, state: str) -> None:
    give_up_at = time.monotonic() + target.open_duration_s * 5 + 2.0
    while await _breaker_state(target, deployment) != state:
        assert time.monotonic() < give_up_at, f"{deployment} never became {state}"
        await asyncio.sleep(POLL_INTERVAL_S)


async def _openai_calls(target: Target) -> int:
    return len(await target.mock_log(provider="openai"))


async def circuit_breaker(target: Target) -> None:
    await target.set_faults({"provider": "openai", "fail_next": {"count": 10_000, "fault": "500"}})
    # Failures accumulate across requests until the breaker opens.
    for _ in range(target.failure_threshold):
        status, body, _ = await target.chat(chat_body())
        assert status == 200, body
        assert body["provider"] == "anthropic"
        if await _breaker_state(target, OPENAI_DEPLOYMENT) == "open":
            break
    assert await _breaker_state(target, OPENAI_DEPLOYMENT) == "open"
    assert await _openai_calls(target) == target.failure_threshold

    # Open: requests are served by Anthropic and OpenAI sees nothing at all.
    for _ in range(3):
        status, body, _ = await target.chat(chat_body())
        assert (status, body["provider"], body["attempts"]) == (200, "anthropic", 1)
    assert await _openai_calls(target) == target.failure_threshold

    # Cool-down over while OpenAI is still failing: each request probes it once and moves
    # on; one failed probe is bad luck, the second reopens it.
    await _wait_for_breaker(target, OPENAI_DEPLOYMENT, "half_open")
    for probes in (1, 2):
        status, body, _ = await target.chat(chat_body())
        assert (status, body["provider"]) == (200, "anthropic")
        assert [a["provider"] for a in body["attempt_log"]] == ["openai", "anthropic"]
        assert await _openai_calls(target) == target.failure_threshold + probes
    assert await _breaker_state(target, OPENAI_DEPLOYMENT) == "open"

    # OpenAI recovers: after the next cool-down its probes succeed, and once 4 of them have
    # (the healthy success rate, not one lucky call) the breaker closes.
    await target.set_faults({"provider": "openai"})
    await _wait_for_breaker(target, OPENAI_DEPLOYMENT, "half_open")
    for _ in range(HALF_OPEN_SUCCESSES_NEEDED):
        assert await _breaker_state(target, OPENAI_DEPLOYMENT) == "half_open"
        status, body, _ = await target.chat(chat_body())
        assert (status, body["provider"], body["attempts"]) == (200, "openai", 1)
    assert await _breaker_state(target, OPENAI_DEPLOYMENT) == "closed"
    status, body, _ = await target.chat(chat_body())
    assert (status, body["provider"]) == (200, "openai")


async def validation_rejects_without_upstream_calls(target: Target) -> None:
    bad: dict[str, Any] = {"model": "gpt-4", "messages": [{"role": "wizard", "content": "hi"}]}
    started = time.perf_counter()
    status, body, headers = await target.chat(bad, headers={"X-Request-ID": "invalid-1"})
    elapsed_s = time.perf_counter() - started
    assert status == 400
    assert body["error"]["param"] == "messages[0].role"
    assert body["error"]["type"] == "invalid_request_error"
    assert body["request_id"] == "invalid-1"
    assert headers["X-Request-ID"] == "invalid-1"
    assert elapsed_s < 0.5
    assert await target.mock_log() == []


async def deadline_holds_when_every_provider_is_silent(target: Target) -> None:
    await target.set_faults(
        {"provider": "both", "faults": {"timeout": 1.0}, "timeout_duration_seconds": 5}
    )
    started = time.perf_counter()
    status, body, _ = await target.chat(chat_body())
    elapsed_s = time.perf_counter() - started
    assert status == 504, body
    assert body["error"]["code"] in ("deadline_exceeded", "upstream_timeout")
    assert body["attempt_log"]
    assert all(a["outcome"] == "timeout" for a in body["attempt_log"])
    assert elapsed_s <= target.deadline_s + 0.5


async def provider_bad_request_is_not_retried(target: Target) -> None:
    await target.set_faults({"provider": "both", "script": ["content_policy"]})
    status, body, _ = await target.chat(chat_body(), headers={"X-Request-ID": "policy-1"})
    assert status == 400, body
    assert body["error"]["code"] == "content_policy_violation"
    assert "safety system" in body["error"]["message"]
    assert body["attempts"] == 1
    assert len(await target.mock_log(request_id="policy-1")) == 1


async def every_breaker_open_answers_503_at_once(target: Target) -> None:
    await target.set_faults({"provider": "both", "fail_next": {"count": 10_000, "fault": "500"}})
    for _ in range(2 * target.failure_threshold):
        health = await target.health()
        if all(d["state"] == "open" for d in _gpt4_deployments(health)):
            break
        status, body, headers = await target.chat(chat_body())
        assert status in (502, 503), body
        assert headers.get("x-should-retry") == "false"
    # Nowhere to go: the next requests probe each deployment once (a bounded number, one per
    # deployment a second), and fail with the same clear 503.
    for _ in _gpt4_deployments(await target.health()):
        status, body, headers = await target.chat(chat_body())
        assert (status, body["error"]["code"]) == (503, "all_breakers_open"), body
        assert len(body["attempt_log"]) == 1
    calls_before = len(await target.mock_log())
    started = time.perf_counter()
    status, body, headers = await target.chat(chat_body())
    elapsed_s = time.perf_counter() - started
    assert status == 503, body
    assert body["error"]["code"] == "all_breakers_open"
    assert int(headers["Retry-After"]) >= 1
    assert elapsed_s < 0.2
    assert len(await target.mock_log()) == calls_before


def _gpt4_deployments(health: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        snapshot
        for key, snapshot in health["deployments"].items()
        if key in (OPENAI_DEPLOYMENT, f"anthropic/{ANTHROPIC_MODEL}")
    ]


Scenario = Callable[[Target], Awaitable[None]]

SCENARIOS: Final[Mapping[str, Scenario]] = MappingProxyType(
    {
        "happy_path_answers_on_the_first_attempt": happy_path,
        "timeouts_fail_over_then_retry_with_backoff": timeout_then_retry,
        "rate_limit_fails_over_to_anthropic_without_waiting": rate_limit_failover,
        "circuit_breaker_opens_probes_and_closes": circuit_breaker,
        "invalid_request_is_rejected_with_zero_upstream_calls": (
            validation_rejects_without_upstream_calls
        ),
        "deadline_holds_when_every_provider_is_silent": (
            deadline_holds_when_every_provider_is_silent
        ),
        "provider_bad_request_is_not_retried": provider_bad_request_is_not_retried,
        "every_breaker_open_answers_503_at_once": every_breaker_open_answers_503_at_once,
    }
)
"""Every scenario by behaviour name: both targets run exactly this table."""
