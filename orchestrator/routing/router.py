"""Route plan: public model name -> ordered deployments, honouring breakers and exclusions.

Everything that does not depend on the request is computed once, at construction: the
:class:`Deployment` objects (one per ``provider/model``, shared by every route that lists
it), each route's order for every possible ``preferred_provider``, and the breaker of each
deployment. :meth:`Router.plan` then only concatenates fallbacks and filters, so it costs a
few dictionary look-ups per deployment.
"""

from __future__ import annotations

import random as random_module
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import MappingProxyType

from orchestrator.breaker import BreakerRegistry, CircuitBreaker
from orchestrator.breaker.circuit import REFUSING
from orchestrator.capabilities import Capability, Need, missing, needs, resolve
from orchestrator.config import AppConfig, DeploymentConfig, ProviderConfig
from orchestrator.requests import RoutedRequest
from orchestrator.routing.budget import ShareBudget
from orchestrator.routing.health import HealthBoard
from orchestrator.routing.strategies import STRATEGIES
from shared.values import value


@dataclass(frozen=True, slots=True)
class Deployment:
    """One provider serving one model: the unit the breaker, router and metrics track."""

    key: str  # "provider/model"
    provider: ProviderConfig
    model: str  # the provider's own model name
    context_window_tokens: int
    max_output_tokens: int
    weight: float = 1.0
    capabilities: frozenset[Capability] = frozenset(Capability)

    def is_slow(self, latency_s: float) -> bool:
        """Slower than its provider's ``slow_call_duration_s`` (never, when it sets none)."""
        limit = self.provider.slow_call_duration_s
        return limit is not None and latency_s > limit


@value
class RoutePlan:
    deployments: tuple[Deployment, ...]  # to try, in order (their breakers allow calls now)
    # (deployment, next_probe_at) for each deployment skipped because its breaker is OPEN;
    # the engine answers 503 with Retry-After when `deployments` is empty.
    skipped_open: tuple[tuple[Deployment, float], ...] = ()
    # (deployment, until) for each deployment kept out by exclude(), e.g. after a long 429.
    skipped_excluded: tuple[tuple[Deployment, float], ...] = ()
    # (deployment, what it cannot honour) for each deployment the request's needs rule out.
    skipped_unable: tuple[tuple[Deployment, Need], ...] = ()
    strategy: str = "priority"  # the route's strategy, and why it chose this order
    why: str = "configured order"


class Router:
    __slots__ = (
        "_breakers",
        "_by_preference",
        "_clock",
        "_context_limits",
        "_excluded_until",
        "_output_limits",
        "_provider_names",
        "_random",
        "_routes",
        "_strategies",
        "health",
        "hedges",
    )

    def __init__(
        self,
        config: AppConfig,
        breakers: BreakerRegistry,
        clock: Callable[[], float],
        random: Callable[[], float] = random_module.random,
    ) -> None:
        self._clock = clock
        self._random = random
        self.health = HealthBoard()
        self._strategies = {
            model: STRATEGIES[route.strategy]
            for model, route in config.routes.items()
            if route.strategy != "priority"
        }
        self._provider_names = frozenset(config.providers)
        self.hedges: dict[str, tuple[float, ShareBudget]] = {
            model: (route.hedge_after_s, ShareBudget(route.hedge_budget, 0.1, 10.0, clock))
            for model, route in config.routes.items()
            if route.hedge_after_s is not None
        }
        """Hedged routes: (hedge_after_s, the budget that caps their hedges)."""
        deployments: dict[str, Deployment] = {}
        routes: dict[str, tuple[Deployment, ...]] = {}
        for model, route in config.routes.items():
            routes[model] = tuple(
                _shared_deployment(deployments, d, config.providers[d.provider])
                for d in route.deployments
            )
        self._routes = MappingProxyType(routes)
        self._by_preference = MappingProxyType(
            {model: _orders_by_provider(route) for model, route in routes.items()}
        )
        self._output_limits = {m: max(d.max_output_tokens for d in r) for m, r in routes.items()}
        self._context_limits = {
            m: max(d.context_window_tokens for d in r) for m, r in routes.items()
        }
        # Fetched once so every deployment shows in the registry (and /health) from the start.
        self._breakers: dict[str, CircuitBreaker] = {key: breakers.get(key) for key in deployments}
        self._excluded_until: dict[str, float] = {}

    def deployments(self) -> tuple[Deployment, ...]:
        """Every deployment once, in route order."""
        unique = {d.key: d for route in self._routes.values() for d in route}
        return tuple(unique.values())

    def route(self, model: str) -> tuple[Deployment, ...] | None:
        """The model's deployments in configured order; None when the model is not routable."""
        return self._routes.get(model)

    def output_limit(self, model: str) -> int:
        """The largest ``max_output_tokens`` on the model's route (KeyError if not routable)."""
        return self._output_limits[model]

    def context_limit(self, model: str) -> int:
        """The largest context window on the model's route (KeyError if not routable)."""
        return self._context_limits[model]

    def provider_names(self) -> frozenset[str]:
        return self._provider_names

    def exclude(self, deployment_key: str, until: float) -> None:
        """Keep a deployment out of plans until the clock reaches ``until`` (a long 429)."""
        if until > self._excluded_until.get(deployment_key, float("-inf")):
            self._excluded_until[deployment_key] = until

    def plan(self, request: RoutedRequest) -> RoutePlan:
        """The deployments to try for ``request``, in order; see :class:`RoutePlan`."""
        candidates, strategy, why = self._ordered(request)
        if not candidates:
            return RoutePlan(())
        now = self._clock()
        prompt_tokens = request.estimated_prompt_tokens()
        wanted = needs(request)
        allowed: list[Deployment] = []
        skipped_open: list[tuple[Deployment, float]] = []
        skipped_excluded: list[tuple[Deployment, float]] = []
        skipped_unable: list[tuple[Deployment, Need]] = []
        for deployment in candidates:
            if deployment.context_window_tokens < prompt_tokens:
                continue  # it could only fail with a context-length error
            if wanted:
                lacking = missing(deployment.capabilities, wanted)
                if lacking is not None:
                    skipped_unable.append((deployment, lacking))
                    continue
            until = self._excluded_until.get(deployment.key)
            if until is not None:
                if now < until:
                    skipped_excluded.append((deployment, until))
                    continue
                del self._excluded_until[deployment.key]
            breaker = self._breakers[deployment.key]
            if breaker.state in REFUSING:
                skipped_open.append((deployment, _probe_time(breaker, now)))
                continue
            allowed.append(deployment)
        return RoutePlan(
            tuple(allowed),
            tuple(skipped_open),
            tuple(skipped_excluded),
            tuple(skipped_unable),
            strategy,
            why,
        )

    def unable(self, request: RoutedRequest) -> Need | None:
        """A need of ``request`` that no deployment it may be sent to can honour."""
        wanted = needs(request)
        if not wanted:
            return None
        first_lacking: Need | None = None
        for deployment in self._candidates(request):
            lacking = missing(deployment.capabilities, wanted)
            if lacking is None:
                return None
            first_lacking = first_lacking or lacking
        return first_lacking

    def _ordered(self, request: RoutedRequest) -> tuple[tuple[Deployment, ...], str, str]:
        """The candidates, in the order the route's strategy picks (a caller's
        ``preferred_provider`` keeps its own order)."""
        candidates = self._candidates(request)
        strategy = self._strategies.get(request.model)
        if strategy is None or request.preferred_provider is not None or len(candidates) < 2:
            return candidates, "priority", "configured order"
        primary = self._routes[request.model]
        ordered, why = strategy(primary, self.health, self._random)
        rest = tuple(d for d in candidates if d not in primary)
        return ordered + rest, strategy.__name__, why

    def _candidates(self, request: RoutedRequest) -> tuple[Deployment, ...]:
        orders = self._by_preference.get(request.model)
        if orders is None:
            return ()
        primary = orders.get(request.preferred_provider) or orders[None]
        if not request.fallbacks:
            return primary
        ordered = dict.fromkeys(primary)  # insertion-ordered set: duplicates drop, order stays
        for model in request.fallbacks:
            ordered.update(dict.fromkeys(self._routes.get(model, ())))
        return tuple(ordered)


def _shared_deployment(
    deployments: dict[str, Deployment], config: DeploymentConfig, provider: ProviderConfig
) -> Deployment:
    key = f"{config.provider}/{config.model}"
    existing = deployments.get(key)
    if existing is None:
        existing = Deployment(
            key,
            provider,
            config.model,
            config.context_window_tokens,
            config.max_output_tokens,
            config.weight,
            config.capabilities
            if config.capabilities is not None
            else resolve(provider.wire_format, provider.capability_overrides),
        )
        deployments[key] = existing
    return existing


def _orders_by_provider(
    route: tuple[Deployment, ...],
) -> MappingProxyType[str | None, tuple[Deployment, ...]]:
    """The route's order for each provider that serves it (its deployments first); None: as is."""
    orders: dict[str | None, tuple[Deployment, ...]] = {None: route}
    for name in _unique(d.provider.name for d in route):
        first = tuple(d for d in route if d.provider.name == name)
        orders[name] = first + tuple(d for d in route if d.provider.name != name)
    return MappingProxyType(orders)


def _unique(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


def _probe_time(breaker: CircuitBreaker, now: float) -> float:
    probe_at = breaker.next_probe_at()
    if probe_at is None:
        # A drained (force-opened) breaker has no probe time; one cool-down is an honest
        # "not before" for Retry-After, where "never" would leave clients nothing to go on.
        return now + breaker.policy.open_duration_s
    return probe_at
