"""The mock app on a real loopback socket (pytest-aiohttp), with a clock the test moves."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from mock_provider.app import create_app
from mock_provider.clock import ManualClock
from mock_provider.config import MockConfig

SEED = 1234
MockFactory = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def make_mock(aiohttp_client: AiohttpClient, clock: ManualClock) -> MockFactory:
    """Start a mock with config overrides; handlers are cancelled when clients leave, as in main."""

    async def start(**overrides: Any) -> TestClient[Any, Any]:
        config = MockConfig(**{"seed": SEED, "token_interval_s": 0.0, **overrides})
        return await aiohttp_client(
            create_app(config, clock=clock), server_kwargs={"handler_cancellation": True}
        )

    return start


@pytest.fixture
async def mock(make_mock: MockFactory) -> TestClient[Any, Any]:
    return await make_mock()
