"""``make demo``: the five scenarios against running services, narrated.

Works against `make run` or the Compose stack (both publish 127.0.0.1:8080 and :8001).
For each scenario it prints what was injected into the mock provider, the answer the app
got, and the request's journey (every attempt, its outcome and the backoff before it).
Runs with whatever timings the orchestrator was started with (the seeds' defaults under
`make run`: 10 s attempt timeout, 2 s backoff base, 30 s breaker cool-down), so the
breaker scenario waits out a real cool-down.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from typing import Any

import aiohttp
from aiohttp_retry import ExponentialRetry, RetryClient

DEFAULT_ORCHESTRATOR = os.environ.get("ORCH_URL", "http://127.0.0.1:8080")
DEFAULT_MOCK = os.environ.get("MOCK_URL", "http://127.0.0.1:8001")
OPENAI_DEPLOYMENT = "openai/gpt-4"


class Demo:
    def __init__(self, http: aiohttp.ClientSession, orchestrator: str, mock: str) -> None:
        self.http = http
        self.orchestrator = orchestrator
        self.mock = mock

    async def inject(self, plan: dict[str, Any]) -> None:
        print(f"  injected: {plan}")
        async with self.http.post(f"{self.mock}/config/failures", json=plan) as response:
            response.raise_for_status()

    async def reset(self) -> None:
        async with self.http.post(f"{self.mock}/config/reset") as response:
            response.raise_for_status()

    async def ask(self, body: dict[str, Any] | None = None, quiet: bool = False) -> dict[str, Any]:
        body = body or {"model": "gpt-4", "messages": [{"role": "user", "content": "Say hello"}]}
        started = time.perf_counter()
        async with self.http.post(f"{self.orchestrator}/v1/chat/completions", json=body) as resp:
            answer: dict[str, Any] = await resp.json()
            status = resp.status
        if not quiet:
            _print_answer(status, answer, time.perf_counter() - started)
        return answer

    async def breaker_state(self) -> str:
        async with self.http.get(f"{self.orchestrator}/health") as response:
            state: str = (await response.json())["deployments"][OPENAI_DEPLOYMENT]["state"]
            return state


def _print_answer(status: int, answer: dict[str, Any], elapsed_s: float) -> None:
    if status == 200:
        print(
            f"  answer: HTTP 200 from {answer['provider']} ({answer['model']}) after "
            f"{answer['attempts']} attempt(s) in {elapsed_s * 1000:.0f} ms: "
            f"{answer['content'][:60]!r}..."
        )
    else:
        error = answer.get("error", {})
        print(f"  answer: HTTP {status} {error.get('code')}: {error.get('message')}")
    print(f"  request id: {answer.get('request_id')}")
    for attempt in answer.get("attempt_log", []):
        print(
            f"    attempt {attempt['attempt']}: {attempt['provider']:<9} {attempt['model']:<28} "
            f"{attempt['outcome']:<13} status={attempt['status']} "
            f"latency={attempt['latency_ms']:.0f} ms backoff={attempt['backoff_ms']:.0f} ms "
            f"-> {attempt['decision']}"
        )


async def scenario_happy(demo: Demo) -> None:
    await demo.ask()


async def scenario_timeout(demo: Demo) -> None:
    await demo.inject({"provider": "both", "script": ["timeout", "ok"]})
    await demo.ask()


async def scenario_rate_limit(demo: Demo) -> None:
    await demo.inject({"provider": "openai", "script": ["429"]})
    await demo.ask()


async def scenario_breaker(demo: Demo) -> None:
    await demo.inject({"provider": "openai", "fail_next": {"count": 100_000, "fault": "500"}})
    for _ in range(5):
        await demo.ask(quiet=True)
        if await demo.breaker_state() == "open":
            break
    print(f"  breaker for {OPENAI_DEPLOYMENT}: {await demo.breaker_state()}")
    print("  while open, requests skip OpenAI entirely:")
    await demo.ask()
    await demo.inject({"provider": "openai"})
    print("  OpenAI healthy again; waiting for the cool-down to end...")
    while await demo.breaker_state() != "half_open":  # noqa: ASYNC110 - polls another process
        await asyncio.sleep(0.5)
    print("  half-open: the next request is the probe:")
    await demo.ask()
    print(f"  breaker for {OPENAI_DEPLOYMENT}: {await demo.breaker_state()}")


async def scenario_validation(demo: Demo) -> None:
    bad = {"model": "gpt-4", "messages": [{"role": "wizard", "content": "hi"}]}
    print(f"  request: {bad}")
    await demo.ask(bad)


SCENARIOS = (
    ("1. Happy path", scenario_happy),
    ("2. Timeout + retry", scenario_timeout),
    ("3. Rate limit + failover", scenario_rate_limit),
    ("4. Circuit breaker", scenario_breaker),
    ("5. Validation", scenario_validation),
)


async def wait_until_ready(http: aiohttp.ClientSession, *urls: str) -> None:
    """aiohttp-retry's backoff loop is exactly right for 'wait for the services to come up'."""
    retry = ExponentialRetry(
        attempts=10,
        start_timeout=0.2,
        max_timeout=3.0,
        statuses={503},
        exceptions={aiohttp.ClientConnectionError},
    )
    client = RetryClient(client_session=http, retry_options=retry, raise_for_status=False)
    for url in urls:
        async with client.get(f"{url}/health") as response:
            if response.status != 200:
                raise SystemExit(f"{url} is not healthy (HTTP {response.status})")


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orchestrator", default=DEFAULT_ORCHESTRATOR)
    parser.add_argument("--mock", default=DEFAULT_MOCK)
    args = parser.parse_args(argv)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:
        try:
            await wait_until_ready(http, args.mock, args.orchestrator)
        except aiohttp.ClientConnectionError as exc:
            print(f"demo: services are not running ({exc}); start them with `make run`.")
            return 1
        demo = Demo(http, args.orchestrator, args.mock)
        for title, scenario in SCENARIOS:
            print(f"\n== {title}")
            await demo.reset()
            await scenario(demo)
        await demo.reset()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
