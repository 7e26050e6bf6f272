"""The configuration's typed sections: what the loader builds and the app reads.

Policies (retry, breaker, deadline, stream) are in :mod:`orchestrator.policies`; these are
the settings that are not policies: where providers live, which routes serve which models,
the server, admin and observability knobs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from orchestrator.capabilities import Capability
from orchestrator.policies import (
    BreakerPolicy,
    DeadlinePolicy,
    RetryPolicy,
    StreamPolicy,
)

DEFAULT_PROVIDER_BASE_URL: Final = "http://127.0.0.1:8001"
DEFAULT_ATTEMPT_TIMEOUT_S: Final = 10.0
DEFAULT_MAX_BODY_BYTES: Final = 1_048_576
DEFAULT_BODY_READ_TIMEOUT_S: Final = 5.0
DEFAULT_ADMIN_TOKEN_ENV: Final = "ORCH_ADMIN_TOKEN"
DEFAULT_CALLER_KEYS_ENV: Final = "ORCH_CALLER_KEYS"
DEFAULT_JOURNEYS_MAX: Final = 1_000
DEFAULT_JOURNEYS_MAX_BYTES: Final = 16 * 1024 * 1024
DEFAULT_LATENCY_WINDOW_SIZE: Final = 512


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    name: str
    wire_format: str  # one of orchestrator.providers.registry.wire_formats()
    base_url: str  # without the API path, e.g. http://127.0.0.1:8001
    attempt_timeout_s: float
    api_key_env: str | None = None
    api_key: str | None = field(default=None, repr=False)  # resolved from api_key_env
    # Calls slower than this count as slow for the breaker (None: none is slow).
    slow_call_duration_s: float | None = None
    # Its ``capabilities`` table: changes to its wire format's defaults, for every deployment.
    capability_overrides: tuple[tuple[str, bool], ...] = ()
    # Background probes (opt-in): every this many seconds an open or half-open deployment of
    # this provider gets the orchestrator's own minimal request (probe_message, max_tokens 1),
    # so no caller's request has to be the probe. None: off.
    probe_interval_s: float | None = None
    probe_message: str = "ping"


@dataclass(frozen=True, slots=True)
class DeploymentConfig:
    provider: str
    model: str
    context_window_tokens: int
    max_output_tokens: int
    weight: float = 1.0  # its share of traffic under the "weighted" strategy
    # What it can honour (orchestrator.capabilities): the wire format's defaults, then the
    # provider's capabilities table, then its own (None: the defaults and the provider's).
    capabilities: frozenset[Capability] | None = None


@dataclass(frozen=True, slots=True)
class RouteConfig:
    model: str  # the public model name callers send
    deployments: tuple[DeploymentConfig, ...]
    stream: StreamPolicy = field(default_factory=StreamPolicy)
    # The order deployments are tried in: one of orchestrator.routing.strategies.STRATEGIES.
    strategy: str = "priority"
    # Hedged requests (opt-in): a first attempt not answered (a stream: no first token)
    # after hedge_after_s gets a second one on the next deployment; the first answer wins.
    # At most hedge_budget of the route's recent requests hedge (plus one per 10 s).
    hedge_after_s: float | None = None
    hedge_budget: float = 0.1


@dataclass(frozen=True, slots=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    log_level: str = "INFO"
    # A body that trickles in (or never completes) is cut after this long, with a 408.
    body_read_timeout_s: float = DEFAULT_BODY_READ_TIMEOUT_S


@dataclass(frozen=True, slots=True)
class AdminConfig:
    """Who may act on breakers: a bearer token read from ``token_env`` at start-up."""

    token_env: str | None = DEFAULT_ADMIN_TOKEN_ENV
    token: str | None = field(default=None, repr=False)  # resolved from token_env
    # With no token configured, admin actions answer 403 unless this is set (local use, tests).
    allow_unauthenticated: bool = False


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """Who may call the caller APIs: named keys, held only as SHA-256 digests.

    Off (everyone may call) unless keys are configured, from ``keys_env`` (``name:key``
    pairs separated by commas or newlines) and/or ``keys_file`` (one ``name:key`` a line).
    """

    keys_env: str | None = DEFAULT_CALLER_KEYS_ENV
    keys_file: str | None = None
    # (name, sha256 digest of the key), resolved at start-up; the keys themselves are dropped.
    key_digests: tuple[tuple[str, bytes], ...] = field(default=(), repr=False)

    @property
    def enabled(self) -> bool:
        return bool(self.key_digests)


@dataclass(frozen=True, slots=True)
class ObservabilityConfig:
    journeys_max: int = DEFAULT_JOURNEYS_MAX  # recent request journeys kept; oldest evicted
    # Recent outcomes kept per deployment (and for the whole service) for /v1/providers and
    # /stats: success rate and latency percentiles describe this window, not all time.
    latency_window_size: int = DEFAULT_LATENCY_WINDOW_SIZE
    # The journeys' memory, estimated: a flood of long error messages evicts old journeys
    # before it can grow the process.
    journeys_max_bytes: int = DEFAULT_JOURNEYS_MAX_BYTES


@dataclass(frozen=True, slots=True)
class AppConfig:
    server: ServerConfig
    providers: Mapping[str, ProviderConfig]
    routes: Mapping[str, RouteConfig]
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)
    deadline: DeadlinePolicy = field(default_factory=DeadlinePolicy)
    admin: AdminConfig = field(default_factory=AdminConfig)
    observability: ObservabilityConfig = field(default_factory=ObservabilityConfig)
    stream: StreamPolicy = field(default_factory=StreamPolicy)  # routes may override it
    auth: AuthConfig = field(default_factory=AuthConfig)
