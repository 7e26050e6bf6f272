"""Route plan: public model name -> ordered deployments, honouring breakers and exclusions.

CONTRACT (the engine and app code against it; implementation and tests to come):

    Deployment: defined below (already real).

    @dataclass(frozen=True, slots=True)
    class RoutePlan:
        deployments: tuple[Deployment, ...]             # to try, in order (breaker allowed now)
        skipped_open: tuple[tuple[Deployment, float], ...]  # (deployment, next_probe_at) skipped
        # open breakers; the engine answers 503 with Retry-After when deployments is empty

    class Router:
        def __init__(self, config: AppConfig, breakers: BreakerRegistry, clock: Callable[[], float])
        def route(self, model: str) -> tuple[Deployment, ...] | None   # None: not routable
        def output_limit(self, model: str) -> int       # largest max_output_tokens on the route
        def context_limit(self, model: str) -> int      # largest context window on the route
        def provider_names(self) -> frozenset[str]      # configured provider names
        def plan(self, request: ChatRequest) -> RoutePlan
            # order: the route's deployments with request.preferred_provider's first (when it
            # serves the model), then each request.fallbacks model's deployments (unknown
            # fallback names are ignored here: validation rejects them), duplicates removed;
            # deployments whose breaker state is OPEN are moved to skipped_open;
            # deployments excluded via exclude() until a later clock time are skipped too;
            # deployments whose context window is smaller than the request's estimated
            # prompt tokens are left out (they could only fail).
        def exclude(self, deployment_key: str, until: float) -> None
            # keep a deployment out of plans (a 429 with a long Retry-After) until `until`
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.config import ProviderConfig


@dataclass(frozen=True, slots=True)
class Deployment:
    """One provider serving one model: the unit the breaker, router and metrics track."""

    key: str  # "provider/model"
    provider: ProviderConfig
    model: str  # the provider's own model name
    context_window_tokens: int
    max_output_tokens: int
