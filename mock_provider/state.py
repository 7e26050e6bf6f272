"""Everything one mock app holds: its config, fault plans, attempt log and clock."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Final

from aiohttp import web

from mock_provider.attempt_log import AttemptLog
from mock_provider.clock import Clock
from mock_provider.config import MockConfig
from mock_provider.faults import FaultBoard

SEED_BITS: Final = 32


@dataclass(slots=True)
class MockState:
    config: MockConfig
    clock: Clock
    faults: FaultBoard = field(init=False)
    log: AttemptLog = field(init=False)

    def __post_init__(self) -> None:
        seed = self.config.seed
        if seed is None:
            # Unseeded runs still get a seed, shown by GET /config, so any run can be replayed.
            seed = random.SystemRandom().getrandbits(SEED_BITS)
        self.faults = FaultBoard(seed, self.clock.monotonic())
        self.log = AttemptLog(self.config.log_capacity)

    def api_key(self, provider: str) -> str | None:
        return self.config.openai_key if provider == "openai" else self.config.anthropic_key


STATE_KEY: Final = web.AppKey("mock_state", MockState)
