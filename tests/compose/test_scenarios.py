"""The product's scenarios (tests/scenarios/five.py) against the Docker Compose stack: the
very table the integration suite runs against processes."""

from __future__ import annotations

import pytest

from tests.scenarios.five import SCENARIOS, Scenario
from tests.scenarios.target import Target


@pytest.mark.parametrize("scenario", SCENARIOS.values(), ids=SCENARIOS.keys())
async def test_scenario(target: Target, scenario: Scenario) -> None:
    await scenario(target)
