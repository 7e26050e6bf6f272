"""Route strategies on recorded health and fixed randomness (no clock needed: they read only
what the engine recorded)."""

from __future__ import annotations

import dataclasses
import random

from orchestrator.breaker import BreakerRegistry
from orchestrator.routing.health import HealthBoard
from orchestrator.routing.router import Router
from orchestrator.routing.strategies import (
    least_busy,
    least_latency,
    priority,
    success_rate,
    weighted,
)
from shared.models import ChatMessage, ChatRequest
from tests.unit.fakes import FakeClock
from tests.unit.observer_support import ANTHROPIC, OPENAI, config

ROUTE = tuple(
    Router(config(), BreakerRegistry(config().breaker, FakeClock()), FakeClock()).route("gpt-4")
    or ()
)


def keys(order: tuple[object, ...]) -> list[str]:
    return [d.key for d in order]  # type: ignore[attr-defined]


def test_priority_keeps_the_configured_order() -> None:
    assert keys(priority(ROUTE, HealthBoard(), lambda: 0.5)[0]) == [OPENAI, ANTHROPIC]


def test_least_latency_measures_the_unmeasured_first_then_picks_the_fastest() -> None:
    health = HealthBoard()
    health.ended(OPENAI, True, 0.9)
    assert keys(least_latency(ROUTE, health, lambda: 0.5)[0]) == [ANTHROPIC, OPENAI]
    health.ended(ANTHROPIC, True, 0.1)
    order, why = least_latency(ROUTE, health, lambda: 0.5)
    assert keys(order) == [ANTHROPIC, OPENAI]
    assert "100 ms" in why
    for _ in range(10):
        health.ended(OPENAI, True, 0.01)  # openai got fast
    assert keys(least_latency(ROUTE, health, lambda: 0.5)[0]) == [OPENAI, ANTHROPIC]


def test_success_rate_puts_the_healthier_deployment_first() -> None:
    health = HealthBoard()
    for _ in range(5):
        health.ended(OPENAI, False, 0.1)
        health.ended(ANTHROPIC, True, 0.1)
    order, why = success_rate(ROUTE, health, lambda: 0.5)
    assert keys(order) == [ANTHROPIC, OPENAI]
    assert "100%" in why


def test_least_busy_picks_the_fewest_in_flight() -> None:
    health = HealthBoard()
    health.started(OPENAI)
    health.started(OPENAI)
    health.started(ANTHROPIC)
    assert keys(least_busy(ROUTE, health, lambda: 0.5)[0]) == [ANTHROPIC, OPENAI]
    health.ended(OPENAI, None, 0.0)
    health.ended(OPENAI, None, 0.0)
    assert keys(least_busy(ROUTE, health, lambda: 0.5)[0]) == [OPENAI, ANTHROPIC]


def test_weighted_splits_traffic_by_weight() -> None:
    heavy = (dataclasses.replace(ROUTE[0], weight=3.0), ROUTE[1])
    seeded = random.Random(5).random
    firsts = [weighted(heavy, HealthBoard(), seeded)[0][0].key for _ in range(2000)]
    share = firsts.count(OPENAI) / len(firsts)
    assert 0.70 < share < 0.80  # weight 3 against 1: three quarters


def test_a_route_with_a_strategy_orders_its_plan_and_says_why() -> None:
    base = config()
    route = dataclasses.replace(base.routes["gpt-4"], strategy="least_latency")
    app_config = dataclasses.replace(base, routes={"gpt-4": route})
    clock = FakeClock()
    router = Router(app_config, BreakerRegistry(app_config.breaker, clock), clock)
    router.health.ended(OPENAI, True, 2.0)
    router.health.ended(ANTHROPIC, True, 0.2)
    request = ChatRequest(model="gpt-4", messages=(ChatMessage("user", "hi"),))
    plan = router.plan(request)
    assert keys(plan.deployments) == [ANTHROPIC, OPENAI]
    assert plan.strategy == "least_latency"
    assert "200 ms" in plan.why
    preferred = dataclasses.replace(request, preferred_provider="openai")
    assert keys(router.plan(preferred).deployments) == [OPENAI, ANTHROPIC]  # the caller's word
