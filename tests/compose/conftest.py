"""The Docker Compose stack as a scenario target.

These tests call containers that ``make compose-test`` (scripts/docker/compose-test.sh) has
brought up and waited for; they never start the stack themselves. They run only when selected
with ``-m compose``: anywhere else (``pytest``, ``make test``) they are deselected, so a
machine without Docker still gets a green run of the other suites.

Where the stack listens: ``ORCH_URL`` and ``MOCK_URL`` (default http://127.0.0.1:8080 and
http://127.0.0.1:8001). The orchestrator's environment, scenario timings and admin token, is
the file named by ``COMPOSE_TEST_ENV_FILE`` (scripts/docker/compose-test-env.sh writes it).
"""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.compose.stack import (
    ORCHESTRATOR,
    StackUrls,
    compose,
    ensure_running,
    reset_breakers,
    wait_healthy,
)
from tests.scenarios.target import Target

COMPOSE_TESTS_DIR = Path(__file__).parent
MARKER = "compose"
READY_TIMEOUT_S = 15.0
READY_POLL_INTERVAL_S = 0.1
ADMIN_TOKEN_VARIABLE = "ORCH_ADMIN_TOKEN"


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
    pytest.fail(
        f"{base_url}/health not healthy within {timeout_s} s ({last_error}); "
        "the compose tests need the stack up: run `make compose-test`",
        pytrace=False,
    )


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


@pytest.fixture(scope="session")
def admin_token() -> str:
    """The orchestrator's admin token, read from the env file the stack was started with."""
    path = os.environ.get("COMPOSE_TEST_ENV_FILE")
    if not path or not Path(path).is_file():
        pytest.fail(
            f"COMPOSE_TEST_ENV_FILE={path!r} names no file; the compose tests need the stack "
            "started with the test overlay: run `make compose-test`",
            pytrace=False,
        )
    for line in Path(path).read_text().splitlines():
        name, _, value = line.partition("=")
        if name == ADMIN_TOKEN_VARIABLE and value:
            return value
    pytest.fail(f"{path} sets no {ADMIN_TOKEN_VARIABLE}", pytrace=False)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def target(stack_urls: StackUrls, admin_token: str, http: aiohttp.ClientSession) -> Target:
    """The scenario target (tests/scenarios) backed by the running compose stack, with a
    healthy fault plan, an empty mock log and every breaker closed, so no test inherits
    another's state."""

    async def fresh_orchestrator() -> None:
        # A restarted container is a new process: closed breakers, no exclusions.
        await compose("restart", ORCHESTRATOR)
        await wait_healthy(http, stack_urls.orchestrator_url)

    stack = Target(stack_urls.orchestrator_url, stack_urls.mock_url, http, fresh_orchestrator)
    await stack.reset_mock()
    await reset_breakers(http, stack_urls.orchestrator_url, admin_token)
    return stack


@pytest.fixture
async def restores_stack(
    stack_urls: StackUrls, http: aiohttp.ClientSession
) -> AsyncIterator[StackUrls]:
    """For tests that stop containers: both services are running and healthy again after
    the test, whether it passed or not."""
    yield stack_urls
    await ensure_running(http, stack_urls)
