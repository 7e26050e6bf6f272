"""The Docker Compose stack as a scenario target.

These tests call containers that ``make compose-test`` (scripts/docker/compose-test.sh) has
brought up and waited for; they never start the stack themselves. They run only when selected
with ``-m compose``: anywhere else (``pytest``, ``make test``) they are deselected, so a
machine without Docker still gets a green run of the other suites.

Where the stack listens: ``ORCH_URL`` and ``MOCK_URL`` (default http://127.0.0.1:8080 and
http://127.0.0.1:8001).
"""

from __future__ import annotations

import asyncio
import os
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from tests.scenarios.target import Target

COMPOSE_TESTS_DIR = Path(__file__).parent
REPO_ROOT = COMPOSE_TESTS_DIR.parents[1]
COMPOSE_CLI = REPO_ROOT / "scripts" / "docker" / "compose.sh"
MARKER = "compose"
READY_TIMEOUT_S = 15.0
READY_POLL_INTERVAL_S = 0.1
RESTART_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class StackUrls:
    orchestrator_url: str
    mock_url: str


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test here ``compose``; deselect them all unless ``-m`` asks for them."""
    mine = [item for item in items if item.path.is_relative_to(COMPOSE_TESTS_DIR)]
    for item in mine:
        item.add_marker(MARKER)
    if MARKER in (config.option.markexpr or "") or not mine:
        return
    config.hook.pytest_deselected(items=mine)
    items[:] = [item for item in items if not item.path.is_relative_to(COMPOSE_TESTS_DIR)]


def _not_healthy(base_url: str, timeout_s: float, last_error: str) -> None:
    pytest.fail(
        f"{base_url}/health not healthy within {timeout_s} s ({last_error}); "
        "the compose tests need the stack up: run `make compose-test`",
        pytrace=False,
    )


def _wait_healthy_blocking(base_url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    last_error = "no answer"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base_url}/health", timeout=1.0):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            last_error = repr(exc)
        time.sleep(READY_POLL_INTERVAL_S)
    _not_healthy(base_url, timeout_s, last_error)


@pytest.fixture(scope="session")
def stack_urls() -> StackUrls:
    """Where the stack listens, once both services answer (checked once per session, so a
    missing stack fails every test at once instead of timing out in each)."""
    urls = StackUrls(
        orchestrator_url=os.environ.get("ORCH_URL", "http://127.0.0.1:8080").rstrip("/"),
        mock_url=os.environ.get("MOCK_URL", "http://127.0.0.1:8001").rstrip("/"),
    )
    _wait_healthy_blocking(urls.mock_url, READY_TIMEOUT_S)
    _wait_healthy_blocking(urls.orchestrator_url, READY_TIMEOUT_S)
    return urls


async def wait_healthy(http: aiohttp.ClientSession, base_url: str, timeout_s: float) -> None:
    """Poll ``GET /health`` until it answers 200; fail naming the URL and the last error."""
    deadline = time.monotonic() + timeout_s
    last_error = "no answer"
    while time.monotonic() < deadline:
        try:
            async with http.get(
                f"{base_url}/health", timeout=aiohttp.ClientTimeout(total=1.0)
            ) as response:
                if response.status == 200:
                    return
                last_error = f"HTTP {response.status}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            last_error = repr(exc)
        await asyncio.sleep(READY_POLL_INTERVAL_S)
    _not_healthy(base_url, timeout_s, last_error)


async def compose(*args: str) -> None:
    """Run a Compose command on the stack (v1 or v2, via scripts/docker/compose.sh)."""
    process = await asyncio.create_subprocess_exec(
        str(COMPOSE_CLI),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), RESTART_TIMEOUT_S)
    except TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail(f"compose {' '.join(args)} did not finish in {RESTART_TIMEOUT_S} s")
    if process.returncode != 0:
        pytest.fail(f"compose {' '.join(args)} failed:\n{output.decode(errors='replace')}")


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def target(stack_urls: StackUrls, http: aiohttp.ClientSession) -> Target:
    """The scenario target (tests/scenarios) backed by the running compose stack."""

    async def fresh_orchestrator() -> None:
        # A restarted container is a new process: closed breakers, no exclusions.
        await compose("restart", "orchestrator")
        await wait_healthy(http, stack_urls.orchestrator_url, RESTART_TIMEOUT_S)

    stack = Target(stack_urls.orchestrator_url, stack_urls.mock_url, http, fresh_orchestrator)
    await stack.reset_mock()
    return stack
