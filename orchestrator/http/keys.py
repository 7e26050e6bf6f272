"""The typed application keys the wiring (``create_app``) fills and the handlers read."""

from __future__ import annotations

import asyncio
import random as random_module
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from aiohttp import web

from orchestrator.breaker import BreakerRegistry
from orchestrator.config import AppConfig
from orchestrator.engine import Engine
from orchestrator.routing.router import Router
from orchestrator.streaming.relay import StreamRelay
from orchestrator.telemetry.fanout import Telemetry
from orchestrator.transport.base import Transport


@dataclass(frozen=True, slots=True)
class Runtime:
    """Injected time and randomness: real by default, fakes in tests."""

    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    random: Callable[[], float] = random_module.SystemRandom().random
    wall_clock: Callable[[], float] = time.time  # only for timestamps shown to people


CONFIG_KEY: Final = web.AppKey("config", AppConfig)
RUNTIME_KEY: Final = web.AppKey("runtime", Runtime)
BREAKERS_KEY: Final = web.AppKey("breakers", BreakerRegistry)
ROUTER_KEY: Final = web.AppKey("router", Router)
TRANSPORT_KEY: Final = web.AppKey("transport", Transport)
ENGINE_KEY: Final = web.AppKey("engine", Engine)
TELEMETRY_KEY: Final = web.AppKey("telemetry", Telemetry)
STREAM_RELAY_KEY: Final = web.AppKey("stream_relay", StreamRelay)
