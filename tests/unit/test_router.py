"""Route plans: ordering, fallbacks, breakers, exclusions and context windows."""

from __future__ import annotations

import pytest

from orchestrator.breaker import BreakerRegistry
from orchestrator.capabilities import WIRE_FORMAT_DEFAULTS
from orchestrator.config import (
    AppConfig,
    BreakerPolicy,
    DeploymentConfig,
    ProviderConfig,
    RouteConfig,
    ServerConfig,
    default_config,
)
from orchestrator.routing.router import Deployment, RoutePlan, Router
from shared.models import ChatMessage, ChatRequest
from tests.unit.fakes import FakeClock

BREAKER = BreakerPolicy(failure_threshold=1, open_duration_s=30.0)


def _provider(name: str) -> ProviderConfig:
    return ProviderConfig(name, "openai", "http://127.0.0.1:8001", attempt_timeout_s=1.0)


def _route(model: str, *deployments: tuple[str, str, int]) -> RouteConfig:
    return RouteConfig(
        model, tuple(DeploymentConfig(p, m, ctx, min(ctx, 1_000)) for p, m, ctx in deployments)
    )


CONFIG = AppConfig(
    server=ServerConfig(),
    providers={name: _provider(name) for name in ("openai", "anthropic", "azure")},
    routes={
        r.model: r
        for r in (
            _route("gpt-4", ("openai", "gpt-4", 8_000), ("anthropic", "sonnet", 200_000)),
            _route(
                "mix",
                ("openai", "gpt-4o", 128_000),
                ("anthropic", "haiku", 200_000),
                ("openai", "gpt-4", 8_000),
                ("azure", "gpt-4o", 128_000),
            ),
            _route("sonnet", ("anthropic", "sonnet", 200_000), ("azure", "gpt-4o", 128_000)),
        )
    },
    breaker=BREAKER,
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def breakers(clock: FakeClock) -> BreakerRegistry:
    return BreakerRegistry(BREAKER, clock)


@pytest.fixture
def router(breakers: BreakerRegistry, clock: FakeClock) -> Router:
    return Router(CONFIG, breakers, clock)


def request(
    model: str,
    *,
    preferred: str | None = None,
    fallbacks: tuple[str, ...] = (),
    prompt_chars: int = 20,
) -> ChatRequest:
    return ChatRequest(
        model=model,
        messages=(ChatMessage("user", "x" * prompt_chars),),
        preferred_provider=preferred,
        fallbacks=fallbacks,
    )


def keys(plan: RoutePlan) -> list[str]:
    return [d.key for d in plan.deployments]


def test_plan_follows_the_configured_order(router: Router) -> None:
    assert keys(router.plan(request("gpt-4"))) == ["openai/gpt-4", "anthropic/sonnet"]


def test_preferred_provider_goes_first_keeping_the_rest_in_order(router: Router) -> None:
    plan = router.plan(request("mix", preferred="azure"))
    assert keys(plan) == ["azure/gpt-4o", "openai/gpt-4o", "anthropic/haiku", "openai/gpt-4"]


def test_every_deployment_of_the_preferred_provider_moves_forward(router: Router) -> None:
    plan = router.plan(request("mix", preferred="anthropic"))
    assert keys(plan) == ["anthropic/haiku", "openai/gpt-4o", "openai/gpt-4", "azure/gpt-4o"]


def test_preferred_provider_that_does_not_serve_the_model_is_ignored(router: Router) -> None:
    assert keys(router.plan(request("gpt-4", preferred="azure"))) == [
        "openai/gpt-4",
        "anthropic/sonnet",
    ]
    assert keys(router.plan(request("gpt-4", preferred="nobody"))) == [
        "openai/gpt-4",
        "anthropic/sonnet",
    ]


def test_fallback_models_are_appended_without_duplicates(router: Router) -> None:
    plan = router.plan(request("gpt-4", fallbacks=("sonnet", "gpt-4", "unknown-model")))
    assert keys(plan) == ["openai/gpt-4", "anthropic/sonnet", "azure/gpt-4o"]


def test_unroutable_model_gets_an_empty_plan(router: Router) -> None:
    assert router.plan(request("nope")) == RoutePlan(())
    assert router.route("nope") is None


def test_open_breakers_are_skipped_with_their_probe_time(
    router: Router, breakers: BreakerRegistry, clock: FakeClock
) -> None:
    breakers.get("openai/gpt-4").on_failure()
    plan = router.plan(request("gpt-4"))
    assert keys(plan) == ["anthropic/sonnet"]
    [(skipped, probe_at)] = plan.skipped_open
    assert skipped.key == "openai/gpt-4"
    assert probe_at == clock() + BREAKER.open_duration_s


def test_half_open_breakers_stay_in_the_plan(
    router: Router, breakers: BreakerRegistry, clock: FakeClock
) -> None:
    breakers.get("openai/gpt-4").on_failure()
    clock.advance(BREAKER.open_duration_s)
    plan = router.plan(request("gpt-4"))
    assert keys(plan) == ["openai/gpt-4", "anthropic/sonnet"]
    assert plan.skipped_open == ()


def test_every_breaker_open_leaves_only_skipped_deployments(
    router: Router, breakers: BreakerRegistry
) -> None:
    breakers.get("openai/gpt-4").on_failure()
    breakers.get("anthropic/sonnet").on_failure()
    plan = router.plan(request("gpt-4"))
    assert plan.deployments == ()
    assert [d.key for d, _ in plan.skipped_open] == ["openai/gpt-4", "anthropic/sonnet"]


def test_force_opened_breaker_is_skipped_with_a_cool_down_as_its_probe_time(
    router: Router, breakers: BreakerRegistry, clock: FakeClock
) -> None:
    breakers.get("openai/gpt-4").force_open()
    clock.advance(1_000)
    [(_, probe_at)] = router.plan(request("gpt-4")).skipped_open
    assert probe_at == clock() + BREAKER.open_duration_s


def test_excluded_deployment_is_skipped_until_the_clock_passes(
    router: Router, clock: FakeClock
) -> None:
    router.exclude("openai/gpt-4", until=clock() + 10)
    plan = router.plan(request("gpt-4"))
    assert keys(plan) == ["anthropic/sonnet"]
    assert [(d.key, until) for d, until in plan.skipped_excluded] == [
        ("openai/gpt-4", clock() + 10)
    ]
    clock.advance(9.999)
    assert keys(router.plan(request("gpt-4"))) == ["anthropic/sonnet"]
    clock.advance(0.001)
    plan = router.plan(request("gpt-4"))
    assert keys(plan) == ["openai/gpt-4", "anthropic/sonnet"]
    assert plan.skipped_excluded == ()


def test_a_shorter_exclusion_never_shortens_a_longer_one(router: Router, clock: FakeClock) -> None:
    router.exclude("openai/gpt-4", until=clock() + 10)
    router.exclude("openai/gpt-4", until=clock() + 1)
    clock.advance(5)
    assert keys(router.plan(request("gpt-4"))) == ["anthropic/sonnet"]


def test_deployments_too_small_for_the_prompt_are_left_out(router: Router) -> None:
    # 8_000 tokens fit gpt-4's window exactly; one more token does not.
    assert keys(router.plan(request("gpt-4", prompt_chars=8_000 * 4))) == [
        "openai/gpt-4",
        "anthropic/sonnet",
    ]
    plan = router.plan(request("gpt-4", prompt_chars=8_000 * 4 + 1))
    assert keys(plan) == ["anthropic/sonnet"]
    assert plan.skipped_open == ()


def test_limits_are_the_largest_on_the_route(router: Router) -> None:
    assert router.context_limit("gpt-4") == 200_000
    assert router.output_limit("gpt-4") == 1_000
    with pytest.raises(KeyError):
        router.context_limit("nope")


def test_route_and_provider_names_come_from_the_config(router: Router) -> None:
    route = router.route("gpt-4")
    assert route is not None
    assert [d.key for d in route] == ["openai/gpt-4", "anthropic/sonnet"]
    openai_defaults = WIRE_FORMAT_DEFAULTS["openai"]
    assert route[0] == Deployment(
        "openai/gpt-4", CONFIG.providers["openai"], "gpt-4", 8_000, 1_000, 1.0, openai_defaults
    )
    assert router.provider_names() == frozenset({"openai", "anthropic", "azure"})


def test_a_deployment_on_several_routes_is_one_object(router: Router) -> None:
    gpt_4, sonnet = router.route("gpt-4"), router.route("sonnet")
    assert gpt_4 is not None
    assert sonnet is not None
    assert gpt_4[1] is sonnet[0]


def test_router_registers_every_deployment_breaker_up_front(
    router: Router, breakers: BreakerRegistry
) -> None:
    assert set(breakers.all()) == {
        "openai/gpt-4",
        "openai/gpt-4o",
        "anthropic/sonnet",
        "anthropic/haiku",
        "azure/gpt-4o",
    }


def test_default_config_routes_gpt_4_to_openai_then_anthropic(
    breakers: BreakerRegistry, clock: FakeClock
) -> None:
    router = Router(default_config(), breakers, clock)
    plan = router.plan(request("gpt-4", preferred="anthropic"))
    assert keys(plan) == ["anthropic/claude-3-5-sonnet-20241022", "openai/gpt-4"]
