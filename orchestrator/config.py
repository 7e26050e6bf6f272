"""Typed settings for the orchestrator: a TOML file plus environment overrides, validated at start.

CONTRACT (filled in by the config/breaker/router work; the engine and app code against it):

- ``load_config(path: str | None, environ: Mapping[str, str]) -> AppConfig`` reads the
  TOML file (or the built-in defaults when ``path`` is None and ``ORCH_CONFIG`` is unset),
  applies environment overrides, resolves API keys from the environment variables the
  providers name, and validates everything. A bad value raises :class:`ConfigError`
  whose message names the key and the value.
- ``default_config() -> AppConfig``: the out-of-the-box settings against the mock
  provider on 127.0.0.1:8001.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from orchestrator.policy import BackoffPolicy, RetryPolicy

WireFormat = Literal["openai", "anthropic"]


class ConfigError(ValueError):
    """Start-up configuration is invalid; the message names the key and the bad value."""


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    name: str
    wire_format: WireFormat
    base_url: str  # without the API path, e.g. http://127.0.0.1:8001
    attempt_timeout_s: float
    api_key_env: str | None = None
    api_key: str | None = field(default=None, repr=False)  # resolved from api_key_env


@dataclass(frozen=True, slots=True)
class DeploymentConfig:
    provider: str
    model: str
    context_window_tokens: int
    max_output_tokens: int


@dataclass(frozen=True, slots=True)
class RouteConfig:
    model: str  # the public model name callers send
    deployments: tuple[DeploymentConfig, ...]


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    failure_threshold: int = 5  # consecutive provider failures that open the breaker
    open_duration_s: float = 30.0  # cool-down before half-open
    half_open_max_probes: int = 1  # calls admitted while half-open


@dataclass(frozen=True, slots=True)
class DeadlinePolicy:
    request_deadline_s: float = 60.0  # every attempt and every backoff fit inside this


@dataclass(frozen=True, slots=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = 1_048_576
    log_level: str = "INFO"


@dataclass(frozen=True, slots=True)
class AppConfig:
    server: ServerConfig
    providers: Mapping[str, ProviderConfig]
    routes: Mapping[str, RouteConfig]
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)
    deadline: DeadlinePolicy = field(default_factory=DeadlinePolicy)


__all__ = [
    "AppConfig",
    "BackoffPolicy",
    "BreakerPolicy",
    "ConfigError",
    "DeadlinePolicy",
    "DeploymentConfig",
    "ProviderConfig",
    "RetryPolicy",
    "RouteConfig",
    "ServerConfig",
]
