"""Driving the running compose stack from the tests: Compose and Docker commands, container
state, health polls and the admin breaker reset.

Compose commands go through scripts/docker/compose.sh (v2 or v1, whichever the machine has)
and see the same project as ``make compose-test``, which exports ``COMPOSE_FILE`` and
``COMPOSE_TEST_ENV_FILE``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

REPO_ROOT = Path(__file__).parents[2]
COMPOSE_CLI = REPO_ROOT / "scripts" / "docker" / "compose.sh"
COMMAND_TIMEOUT_S = 60.0
HEALTH_TIMEOUT_S = 60.0
POLL_INTERVAL_S = 0.05
PROBE_TIMEOUT_S = 1.0
ORCHESTRATOR = "orchestrator"
MOCK_PROVIDER = "mock-provider"
SERVICES = (MOCK_PROVIDER, ORCHESTRATOR)


@dataclass(frozen=True, slots=True)
class StackUrls:
    orchestrator_url: str
    mock_url: str

    def of(self, service: str) -> str:
        return self.orchestrator_url if service == ORCHESTRATOR else self.mock_url


@dataclass(frozen=True, slots=True)
class ContainerState:
    status: str  # Docker's: running, exited, restarting, ...
    exit_code: int
    oom_killed: bool


async def run(*command: str, timeout_s: float = COMMAND_TIMEOUT_S) -> str:
    """Run a command to completion; its output, or a test failure that shows it."""
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout_s)
    except TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail(f"`{' '.join(command)}` did not finish in {timeout_s} s")
    text = output.decode(errors="replace")
    if process.returncode != 0:
        pytest.fail(f"`{' '.join(command)}` failed (exit {process.returncode}):\n{text}")
    return text


async def compose(*args: str) -> str:
    return await run(str(COMPOSE_CLI), *args)


async def container_id(service: str) -> str:
    ids = (await compose("ps", "-q", service)).split()
    assert len(ids) == 1, f"expected one {service} container, compose lists {ids}"
    return ids[0]


async def container_state(container: str) -> ContainerState:
    fields = await run(
        "docker",
        "inspect",
        "--format",
        "{{.State.Status}} {{.State.ExitCode}} {{.State.OOMKilled}}",
        container,
    )
    status, exit_code, oom_killed = fields.split()
    return ContainerState(status, int(exit_code), oom_killed == "true")


async def answers_health(http: aiohttp.ClientSession, base_url: str) -> bool:
    """One ``GET /health`` on a new connection: a pooled one could outlive a stopped server."""
    try:
        async with http.get(
            f"{base_url}/health",
            timeout=aiohttp.ClientTimeout(total=PROBE_TIMEOUT_S),
            headers={"Connection": "close"},
        ) as response:
            return response.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False


async def wait_healthy(
    http: aiohttp.ClientSession, base_url: str, timeout_s: float = HEALTH_TIMEOUT_S
) -> None:
    deadline = time.monotonic() + timeout_s
    while not await answers_health(http, base_url):
        if time.monotonic() >= deadline:
            pytest.fail(
                f"{base_url}/health not healthy within {timeout_s} s; the compose tests need "
                "the stack up: run `make compose-test`",
                pytrace=False,
            )
        await asyncio.sleep(POLL_INTERVAL_S)


async def ensure_running(http: aiohttp.ClientSession, urls: StackUrls) -> None:
    """Start whatever a test stopped (a no-op for running services) and wait for health."""
    await compose("start", *SERVICES)
    for service in SERVICES:
        await wait_healthy(http, urls.of(service))


async def reset_breakers(http: aiohttp.ClientSession, orchestrator_url: str, token: str) -> None:
    """Close every deployment's breaker through the admin API: the same clean routing state a
    restarted orchestrator has, in milliseconds instead of seconds."""
    async with http.get(f"{orchestrator_url}/v1/providers") as response:
        assert response.status == 200, await response.text()
        deployments = [entry["deployment"] for entry in (await response.json())["data"]]
    auth = {"Authorization": f"Bearer {token}"}
    for deployment in deployments:
        url = f"{orchestrator_url}/v1/providers/{deployment}/reset"
        async with http.post(url, headers=auth) as response:
            assert response.status == 200, await response.text()
