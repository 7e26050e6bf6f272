"""``make soak``: brownout figures, against two mock providers that half-work.

``python -m tools.soak [--requests 2000] [--concurrency 50] [--scenario NAME ...]`` starts a
seeded mock and an orchestrator with short attempt timeouts (so a run takes minutes, not
hours), and for each scenario sends the requests and reports: the share that succeeded,
requests lost (no HTTP answer at all), answers past the request deadline, upstream attempts
per request, and how many attempts each provider got. Loopback only; it stops by itself.

Scenarios (fault probabilities per provider call):

- ``brownout-50``: both providers fail half their calls: 20% timeouts, 20% 429 without
  Retry-After, 10% 500;
- ``brownout-25``: both fail a quarter (10% / 10% / 5%);
- ``one-dead``: openai answers every call with a 500, anthropic is healthy;
- ``both-dead``: both answer every call with a 500.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import aiohttp

from tools.bench_processes import Service, start_service

ATTEMPT_TIMEOUT_S: Final = 0.25
DEADLINE_S: Final = 6.0
ORCHESTRATOR_ENV: Final[Mapping[str, str]] = {
    "ORCH__PROVIDERS__OPENAI__ATTEMPT_TIMEOUT_S": str(ATTEMPT_TIMEOUT_S),
    "ORCH__PROVIDERS__ANTHROPIC__ATTEMPT_TIMEOUT_S": str(ATTEMPT_TIMEOUT_S),
    "ORCH__RETRY__BACKOFF__BASE_S": "0.05",
    "ORCH__RETRY__BACKOFF__CAP_S": "0.5",
    "ORCH__DEADLINE__REQUEST_DEADLINE_S": str(DEADLINE_S),
    "ORCH__BREAKER__OPEN_DURATION_S": "2",
    "ORCH__SERVER__LOG_LEVEL": "WARNING",
}
BODY: Final = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Say hello"}]}
# A timed-out attempt must not linger in the mock past the soak: hang a little longer than
# the attempt timeout, not the mock's default.
TIMEOUT_HANG_S: Final = ATTEMPT_TIMEOUT_S * 4


def _plan(
    provider: str, timeout: float, rate_limited: float, server_error: float
) -> dict[str, Any]:
    return {
        "provider": provider,
        "seed": 7,
        "faults": {"timeout": timeout, "429": rate_limited, "500": server_error},
        "timeout_duration_seconds": TIMEOUT_HANG_S,
    }


SCENARIOS: Final[Mapping[str, tuple[dict[str, Any], ...]]] = {
    "brownout-50": (_plan("both", 0.2, 0.2, 0.1),),
    "brownout-25": (_plan("both", 0.1, 0.1, 0.05),),
    "one-dead": (_plan("openai", 0.0, 0.0, 1.0),),
    "both-dead": (_plan("both", 0.0, 0.0, 1.0),),
}


@dataclass
class Tally:
    requests: int = 0
    succeeded: int = 0
    lost: int = 0
    past_deadline: int = 0
    attempts: int = 0
    by_provider: dict[str, int] = field(default_factory=dict)
    statuses: dict[int, int] = field(default_factory=dict)
    slowest_s: float = 0.0

    def add(self, status: int, body: Mapping[str, Any], elapsed_s: float) -> None:
        self.requests += 1
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.succeeded += status == 200
        self.slowest_s = max(self.slowest_s, elapsed_s)
        # A little slack for the client's own scheduling at 50 concurrent requests.
        self.past_deadline += elapsed_s > DEADLINE_S + 0.5
        for attempt in body.get("attempt_log") or ():
            self.attempts += 1
            provider = attempt.get("provider", "?")
            self.by_provider[provider] = self.by_provider.get(provider, 0) + 1

    def report(self, name: str) -> str:
        share = 100.0 * self.succeeded / max(1, self.requests)
        per_request = self.attempts / max(1, self.requests)
        providers = ", ".join(f"{p} {n}" for p, n in sorted(self.by_provider.items()))
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(self.statuses.items()))
        return (
            f"{name:<12} {share:6.2f}% succeeded of {self.requests}; lost {self.lost}; "
            f"past the deadline {self.past_deadline}; slowest {self.slowest_s:.2f} s; "
            f"{per_request:.2f} upstream attempts/request ({providers}); statuses {statuses}"
        )


async def _one(http: aiohttp.ClientSession, url: str, tally: Tally) -> None:
    started = time.perf_counter()
    try:
        async with http.post(url, json=BODY) as response:
            body = await response.json(content_type=None)
            status = response.status
    except (aiohttp.ClientError, TimeoutError, ValueError):
        tally.lost += 1
        tally.requests += 1
        return
    tally.add(status, body if isinstance(body, dict) else {}, time.perf_counter() - started)


async def run_scenario(
    orchestrator: Service, mock: Service, name: str, requests: int, concurrency: int
) -> Tally:
    timeout = aiohttp.ClientTimeout(total=DEADLINE_S * 3)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        async with http.post(f"{mock.url}/config/reset") as reset:
            reset.raise_for_status()
        for plan in SCENARIOS[name]:
            async with http.post(f"{mock.url}/config/failures", json=plan) as configured:
                configured.raise_for_status()
        for deployment in ("openai/gpt-4o", "anthropic/claude-3-5-sonnet-20241022"):
            async with http.post(f"{orchestrator.url}/v1/providers/{deployment}/reset"):
                pass  # a fresh breaker per scenario (allowed: the soak starts it unguarded)
        tally = Tally()
        queue: asyncio.Queue[None] = asyncio.Queue()
        for _ in range(requests):
            queue.put_nowait(None)
        url = f"{orchestrator.url}/v1/chat/completions"

        async def worker() -> None:
            while not queue.empty():
                queue.get_nowait()
                await _one(http, url, tally)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return tally


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tools.soak", description=__doc__)
    parser.add_argument("--requests", type=int, default=2000, help="per scenario (2000)")
    parser.add_argument("--concurrency", type=int, default=50, help="requests in flight (50)")
    parser.add_argument(
        "--scenario", action="append", choices=sorted(SCENARIOS), help="default: all"
    )
    parser.add_argument(
        "--retry-budget",
        type=float,
        default=0.0,
        metavar="RATIO",
        help="run with [retry] budget_ratio = RATIO (default 0: no retry budget)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    log_dir = Path(tempfile.mkdtemp(prefix="soak-"))
    mock = start_service("mock", ["mock_provider", "--seed", "7", "--log-level", "WARNING"],
                         core=None, log_dir=log_dir)  # fmt: skip
    env = {
        **ORCHESTRATOR_ENV,
        "ORCH_MOCK_BASE_URL": mock.url,
        "ORCH__ADMIN__ALLOW_UNAUTHENTICATED": "true",
        "ORCH_ADMIN_TOKEN": "",
        "ORCH__RETRY__BUDGET_RATIO": str(args.retry_budget),
    }
    orchestrator = start_service("orchestrator", ["orchestrator"], core=None, log_dir=log_dir,
                                 env=env)  # fmt: skip
    try:
        print(
            f"soak: {args.requests} requests per scenario at {args.concurrency} concurrency; "
            f"attempt timeout {ATTEMPT_TIMEOUT_S} s, deadline {DEADLINE_S} s, retry budget "
            f"{args.retry_budget or 'off'} (logs: {log_dir})"
        )
        for name in args.scenario or list(SCENARIOS):
            started = time.perf_counter()
            tally = asyncio.run(
                run_scenario(orchestrator, mock, name, args.requests, args.concurrency)
            )
            print(f"{tally.report(name)}; {time.perf_counter() - started:.0f} s", flush=True)
    finally:
        orchestrator.stop()
        mock.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
