"""Typed settings for the orchestrator: a TOML file plus environment overrides, validated at start.

- ``load_config(path, environ)`` layers the built-in defaults, the TOML file (``path``, or
  ``$ORCH_CONFIG`` when ``path`` is None) and the environment: ``ORCH__SECTION__KEY=value``
  sets one key (``ORCH__RETRY__BACKOFF__BASE_S=0.05``; values are TOML integers, floats or
  booleans when they parse as such, else text) and ``ORCH_MOCK_BASE_URL`` points every
  provider at one base URL. API keys are read from the variables the providers name.
- ``default_config()`` is the out-of-the-box setup against the mock provider on
  127.0.0.1:8001.

Everything is validated here, at start-up: a bad value raises :class:`ConfigError` naming
the full key and the value (``breaker.open_duration_s=-1 must be > 0``), and keys nobody
reads are rejected, so a typo never silently falls back to a default.

:mod:`.sources` layers the document, :mod:`.table` reads one table, :mod:`.build` reads the
sections, :mod:`.sections` holds their types and :mod:`.defaults` the built-in document.
"""

from __future__ import annotations

from collections.abc import Mapping

from orchestrator.config.build import build_config
from orchestrator.config.defaults import default_document
from orchestrator.config.sections import (
    AdminConfig,
    AppConfig,
    AuthConfig,
    DeploymentConfig,
    ObservabilityConfig,
    ProviderConfig,
    RouteConfig,
    ServerConfig,
)
from orchestrator.config.sources import ConfigError, layered_document
from orchestrator.policies import (
    BackoffPolicy,
    BreakerPolicy,
    DeadlinePolicy,
    RetryPolicy,
    StreamMode,
    StreamPolicy,
)


def load_config(path: str | None, environ: Mapping[str, str]) -> AppConfig:
    """Defaults, then the TOML file, then the environment; raises :class:`ConfigError`."""
    document, origins = layered_document(default_document(), path, environ)
    return build_config(document, origins, environ)


def default_config() -> AppConfig:
    return build_config(default_document(), {}, {})


__all__ = [
    "AdminConfig",
    "AppConfig",
    "AuthConfig",
    "BackoffPolicy",
    "BreakerPolicy",
    "ConfigError",
    "DeadlinePolicy",
    "DeploymentConfig",
    "ObservabilityConfig",
    "ProviderConfig",
    "RetryPolicy",
    "RouteConfig",
    "ServerConfig",
    "StreamMode",
    "StreamPolicy",
    "default_config",
    "default_document",
    "load_config",
]
