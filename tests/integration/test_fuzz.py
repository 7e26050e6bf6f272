"""A seeded fuzz of the chat API against a real orchestrator process (and a healthy mock).

A few thousand requests built from a valid body by mutation (wrong types, odd values,
missing and unknown fields, deep nesting, broken JSON, odd encodings and headers). Every
answer must be a JSON error or a completion: never a 5xx, never a traceback, and the
process must still be alive and healthy afterwards, with no traceback in its log.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from typing import Any, Final

import aiohttp
import orjson
import pytest

from tests.integration.observability_support import orchestrator
from tests.support.services import RunningService

SEED: Final = 20261201
CASES: Final = 3000
CONCURRENCY: Final = 16

VALID: Final[dict[str, Any]] = {
    "model": "gpt-4",
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Say hello"},
    ],
    "max_tokens": 16,
}
FIELDS: Final = (
    "model", "messages", "temperature", "top_p", "max_tokens", "max_completion_tokens",
    "stream", "stream_options", "stop", "preferred_provider", "fallbacks", "n", "tools",
    "tool_choice", "response_format", "stream_mode", "metadata", "user", "seed",
)  # fmt: skip
ODD_VALUES: Final[tuple[Any, ...]] = (
    None, True, False, 0, -1, 1, 2**63, -(2**63), 1e308, -1e-308, 0.5, 3.7, "", " ", "x" * 5000,
    "\u0000", "\ud7ff\ue000", "gpt-4", "openai", "anthropic", "claude-3-5-sonnet-20241022",
    [], [None], [{}], {}, {"role": "user"}, {"role": "tool", "content": "x"}, ["gpt-4o"],
    [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": 3}}]}],
    [{"role": "assistant", "content": None, "tool_calls": [{"id": 1}]}],
    {"include_usage": "yes"}, "relay", "buffered", "sideways",
)  # fmt: skip


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


def _odd(rng: random.Random) -> Any:
    """A fresh copy: mutating a shared one in place could make a body that contains itself."""
    return orjson.loads(orjson.dumps(rng.choice(ODD_VALUES)))


def _mutated(rng: random.Random) -> dict[str, Any]:
    body: dict[str, Any] = orjson.loads(orjson.dumps(VALID))
    for _ in range(rng.randint(1, 4)):
        field = rng.choice(FIELDS)
        match rng.randrange(5):
            case 0:
                body.pop(field, None)
            case 1:
                body[field] = _nested(rng.choice((10, 100, 200)))
            case 2 if isinstance(body.get("messages"), list) and body["messages"]:
                message = rng.choice(body["messages"])
                if isinstance(message, dict):
                    message[rng.choice(("role", "content", "name", "tool_call_id", "x"))] = _odd(
                        rng
                    )
            case _:
                body[field] = _odd(rng)
    return body


def _raw(rng: random.Random) -> tuple[bytes, dict[str, str]]:
    """One request body and its headers."""
    headers = {"Content-Type": "application/json"}
    kind = rng.randrange(10)
    if kind == 0:  # not JSON, or broken JSON
        data = orjson.dumps(_mutated(rng))
        cut = rng.randrange(len(data))
        return rng.choice((data[:cut], bytes(rng.randrange(256) for _ in range(40)))), headers
    if kind == 1:  # deeper than orjson writes (it reads up to 1024)
        depth = rng.choice((256, 300, 1000))
        deep = b"[" * depth + b"1" + b"]" * depth
        return (
            b'{"model":"gpt-4","messages":[{"role":"user","content":"hi"}],"x":' + deep + b"}",
            headers,
        )
    if kind == 2:  # a Content-Encoding the body does not have
        headers["Content-Encoding"] = rng.choice(("gzip", "deflate", "br", "zstd", "x-nonsense"))
        return orjson.dumps(VALID), headers
    if kind == 3:
        headers["Content-Type"] = rng.choice(
            ("text/plain", "application/x-www-form-urlencoded", "")
        )
    if kind == 4:
        headers["X-Request-ID"] = rng.choice(("", " ", "a" * 500, "bad id\u00e9", "req-ok"))
        headers["X-Request-Timeout"] = rng.choice(("0", "-5", "soon", "1e400", "3", "30"))
    return orjson.dumps(_mutated(rng)), headers


def _cases() -> Iterator[tuple[bytes, dict[str, str]]]:
    rng = random.Random(SEED)
    for _ in range(CASES):
        yield _raw(rng)


@pytest.mark.timeout(120)
async def test_fuzzed_chat_requests_never_get_a_5xx_or_a_traceback(
    mock_service: RunningService,
) -> None:
    failures: list[tuple[int, bytes, bytes]] = []
    statuses: dict[int, int] = {}
    with orchestrator(mock_service, ORCH__SERVER__BODY_READ_TIMEOUT_S="2") as service:
        url = f"{service.base_url}/v1/chat/completions"
        async with aiohttp.ClientSession(auto_decompress=False) as http:
            async with http.post(f"{mock_service.base_url}/config/reset") as reset:
                assert reset.status == 200
            queue: asyncio.Queue[tuple[bytes, dict[str, str]]] = asyncio.Queue()
            for case in _cases():
                queue.put_nowait(case)

            async def worker() -> None:
                while not queue.empty():
                    data, headers = queue.get_nowait()
                    async with http.post(url, data=data, headers=headers) as response:
                        answer = await response.read()
                    statuses[response.status] = statuses.get(response.status, 0) + 1
                    if response.status >= 500 or b"Traceback" in answer:
                        failures.append((response.status, data[:300], answer[:300]))

            await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
            async with http.get(f"{service.base_url}/health") as health:
                assert health.status == 200
        assert service.process.poll() is None
        logs = service.logs()
    assert not failures, failures[:5]
    assert sum(statuses.values()) == CASES
    assert statuses.get(200, 0) > 0  # the fuzz also reaches the providers
    assert "Traceback" not in logs
