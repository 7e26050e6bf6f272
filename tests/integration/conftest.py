"""Both services as real processes on free loopback ports.

The mock provider lives for the whole session and is reset before each test; each test
gets a fresh orchestrator (closed breakers, no exclusions), which starts in well under a
second, so no test inherits another's breaker state.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from tests.scenarios.target import SCENARIO_ENV, Target
from tests.support.services import RunningService, start_service


@pytest.fixture(scope="session")
def mock_service() -> Iterator[RunningService]:
    service = start_service("mock_provider", ["--seed", "7"])
    yield service
    service.stop()


def start_orchestrator(
    mock: RunningService, extra_env: dict[str, str] | None = None
) -> RunningService:
    env = {**SCENARIO_ENV, "ORCH_MOCK_BASE_URL": mock.base_url, **(extra_env or {})}
    return start_service("orchestrator", env=env)


@pytest.fixture
async def target(mock_service: RunningService) -> AsyncIterator[Target]:
    services: list[RunningService] = [start_orchestrator(mock_service)]

    async def fresh_orchestrator() -> None:
        services[-1].stop()
        services.append(start_orchestrator(mock_service))
        current.orchestrator_url = services[-1].base_url

    async with aiohttp.ClientSession() as http:
        current = Target(services[-1].base_url, mock_service.base_url, http, fresh_orchestrator)
        await current.reset_mock()
        yield current
    services[-1].stop()
