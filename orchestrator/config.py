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
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any, Final, Literal, TypeVar, cast, get_args
from urllib.parse import urlsplit

from orchestrator.config_sources import (
    ConfigError,
    Document,
    Override,
    key_path,
    layered_document,
)
from orchestrator.policy import BackoffPolicy, PolicyError, RetryPolicy

WireFormat = Literal["openai", "anthropic"]
WIRE_FORMATS: Final[frozenset[str]] = frozenset(get_args(WireFormat))
# relay: tokens reach the client as they arrive; buffered: the answer is held until it is
# whole, so a failure mid-answer can still fail over (the first token comes at the end).
StreamMode = Literal["relay", "buffered"]
STREAM_MODES: Final[frozenset[str]] = frozenset(get_args(StreamMode))

DEFAULT_PROVIDER_BASE_URL: Final = "http://127.0.0.1:8001"
DEFAULT_ATTEMPT_TIMEOUT_S: Final = 10.0
DEFAULT_FAILURE_THRESHOLD: Final = 5
DEFAULT_OPEN_DURATION_S: Final = 30.0
DEFAULT_HALF_OPEN_MAX_PROBES: Final = 1
DEFAULT_BREAKER_WINDOW_SIZE: Final = 20
DEFAULT_MIN_CALLS_IN_WINDOW: Final = 10
DEFAULT_REQUEST_DEADLINE_S: Final = 60.0
DEFAULT_MAX_BODY_BYTES: Final = 1_048_576
DEFAULT_STREAM_FIRST_TOKEN_TIMEOUT_S: Final = 10.0
DEFAULT_STREAM_IDLE_TIMEOUT_S: Final = 30.0
DEFAULT_STREAM_MODE: Final[StreamMode] = "relay"
DEFAULT_ADMIN_TOKEN_ENV: Final = "ORCH_ADMIN_TOKEN"
DEFAULT_JOURNEYS_MAX: Final = 1_000
DEFAULT_LATENCY_WINDOW_SIZE: Final = 512
LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MAX_PORT: Final = 65_535


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


def _require(ok: bool, key: str, value: object, rule: str) -> None:
    if not ok:
        raise PolicyError(f"{key}={value!r} {rule}")


@dataclass(frozen=True, slots=True)
class StreamPolicy:
    """Limits of a streamed answer (``[stream]``, or a route's ``stream_*`` keys).

    ``first_token_timeout_s`` bounds the wait for the first content token of an attempt
    (and the request deadline bounds it too); ``idle_timeout_s`` bounds silence between
    upstream bytes once the stream is flowing.
    """

    first_token_timeout_s: float = DEFAULT_STREAM_FIRST_TOKEN_TIMEOUT_S
    idle_timeout_s: float = DEFAULT_STREAM_IDLE_TIMEOUT_S
    mode: StreamMode = DEFAULT_STREAM_MODE

    def __post_init__(self) -> None:
        _require(
            self.first_token_timeout_s > 0,
            "stream.first_token_timeout_s",
            self.first_token_timeout_s,
            "must be > 0",
        )
        _require(
            self.idle_timeout_s > 0, "stream.idle_timeout_s", self.idle_timeout_s, "must be > 0"
        )
        _require(
            self.mode in STREAM_MODES, "stream.mode", self.mode, "must be 'relay' or 'buffered'"
        )


@dataclass(frozen=True, slots=True)
class RouteConfig:
    model: str  # the public model name callers send
    deployments: tuple[DeploymentConfig, ...]
    stream: StreamPolicy = field(default_factory=StreamPolicy)


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    failure_threshold: int = DEFAULT_FAILURE_THRESHOLD  # consecutive failures that open it
    open_duration_s: float = DEFAULT_OPEN_DURATION_S  # cool-down before half-open
    half_open_max_probes: int = DEFAULT_HALF_OPEN_MAX_PROBES  # calls admitted while half-open
    # Optional second trip rule: open once this share of the last `window_size` outcomes
    # failed, counted only after `min_calls_in_window` outcomes, so that one failure out of
    # two calls does not read as a 50% outage. None: consecutive failures only.
    failure_rate_threshold: float | None = None
    window_size: int = DEFAULT_BREAKER_WINDOW_SIZE
    min_calls_in_window: int = DEFAULT_MIN_CALLS_IN_WINDOW

    def __post_init__(self) -> None:
        _require(
            self.failure_threshold >= 1,
            "breaker.failure_threshold",
            self.failure_threshold,
            "must be >= 1",
        )
        _require(
            self.open_duration_s > 0, "breaker.open_duration_s", self.open_duration_s, "must be > 0"
        )
        _require(
            self.half_open_max_probes >= 1,
            "breaker.half_open_max_probes",
            self.half_open_max_probes,
            "must be >= 1",
        )
        rate = self.failure_rate_threshold
        _require(
            rate is None or 0 < rate <= 1,
            "breaker.failure_rate_threshold",
            rate,
            "must be > 0 and <= 1 (or left out)",
        )
        _require(self.window_size >= 1, "breaker.window_size", self.window_size, "must be >= 1")
        _require(
            1 <= self.min_calls_in_window <= self.window_size,
            "breaker.min_calls_in_window",
            self.min_calls_in_window,
            f"must be >= 1 and <= window_size ({self.window_size})",
        )


@dataclass(frozen=True, slots=True)
class DeadlinePolicy:
    request_deadline_s: float = DEFAULT_REQUEST_DEADLINE_S  # every attempt and backoff fit in

    def __post_init__(self) -> None:
        _require(
            self.request_deadline_s > 0,
            "deadline.request_deadline_s",
            self.request_deadline_s,
            "must be > 0",
        )


@dataclass(frozen=True, slots=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    log_level: str = "INFO"


@dataclass(frozen=True, slots=True)
class AdminConfig:
    """Who may act on breakers: a bearer token read from ``token_env`` at start-up."""

    token_env: str | None = DEFAULT_ADMIN_TOKEN_ENV
    token: str | None = field(default=None, repr=False)  # resolved from token_env
    # With no token configured, admin actions answer 403 unless this is set (local use, tests).
    allow_unauthenticated: bool = False


@dataclass(frozen=True, slots=True)
class ObservabilityConfig:
    journeys_max: int = DEFAULT_JOURNEYS_MAX  # recent request journeys kept; oldest evicted
    # Recent outcomes kept per deployment (and for the whole service) for /v1/providers and
    # /stats: success rate and latency percentiles describe this window, not all time.
    latency_window_size: int = DEFAULT_LATENCY_WINDOW_SIZE


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


def load_config(path: str | None, environ: Mapping[str, str]) -> AppConfig:
    """Defaults, then the TOML file, then the environment; raises :class:`ConfigError`."""
    document, origins = layered_document(default_document(), path, environ)
    return _build(document, origins, environ)


def default_config() -> AppConfig:
    return _build(default_document(), {}, {})


_SONNET: Final = "claude-3-5-sonnet-20241022"
_HAIKU: Final = "claude-3-5-haiku-20241022"


def default_document() -> Document:
    """The built-in settings as a TOML-shaped document (a fresh copy on every call).

    Sections left out here take the policies' own defaults.
    """

    def deployment(provider: str, model: str, context: int, output: int) -> dict[str, Any]:
        return {
            "provider": provider,
            "model": model,
            "context_window_tokens": context,
            "max_output_tokens": output,
        }

    def provider(wire_format: str, key_env: str) -> dict[str, Any]:
        return {
            "wire_format": wire_format,
            "base_url": DEFAULT_PROVIDER_BASE_URL,
            "api_key_env": key_env,
            "attempt_timeout_s": DEFAULT_ATTEMPT_TIMEOUT_S,
        }

    sonnet = deployment("anthropic", _SONNET, 200_000, 8_192)
    gpt_4o = deployment("openai", "gpt-4o", 128_000, 16_384)
    return {
        "providers": {
            "openai": provider("openai", "OPENAI_API_KEY"),
            "anthropic": provider("anthropic", "ANTHROPIC_API_KEY"),
        },
        "routes": {
            "gpt-4": {"deployments": [deployment("openai", "gpt-4", 8_192, 4_096), sonnet]},
            "gpt-4o": {"deployments": [gpt_4o, dict(sonnet)]},
            "gpt-4o-mini": {
                "deployments": [
                    deployment("openai", "gpt-4o-mini", 128_000, 16_384),
                    deployment("anthropic", _HAIKU, 200_000, 8_192),
                ]
            },
            _SONNET: {"deployments": [dict(sonnet), dict(gpt_4o)]},
        },
    }


# --- reading a document into typed values -------------------------------------------------


class _Required(Enum):
    MARK = "required"


_REQUIRED: Final = _Required.MARK
_T = TypeVar("_T")


def _origin_note(path: str, origins: Mapping[str, Override]) -> str:
    override = origins.get(path)
    if override is None:
        # An unknown table is reported by its own path; the variable set a key inside it.
        override = next(
            (o for p, o in origins.items() if p.startswith((f"{path}.", f"{path}["))), None
        )
    return f" (set by {override.env_name})" if override is not None else ""


def _error(path: str, value: object, rule: str, origins: Mapping[str, Override]) -> ConfigError:
    return ConfigError(f"{path}={value!r} {rule}{_origin_note(path, origins)}")


class _Table:
    """One TOML table being read into typed values; keys nobody read are reported as typos."""

    __slots__ = ("_origins", "_raw", "_read", "path")

    def __init__(self, raw: Mapping[str, Any], path: str, origins: Mapping[str, Override]):
        self._raw = raw
        self._origins = origins
        self._read: set[str] = set()
        self.path = path

    def fail(self, key: str, value: object, rule: str) -> ConfigError:
        return _error(key_path(self.path, key), value, rule, self._origins)

    def fail_here(self, value: object, rule: str) -> ConfigError:
        return _error(self.path, value, rule, self._origins)

    def _value(self, key: str, default: object) -> object:
        self._read.add(key)
        if key in self._raw:
            return self._raw[key]
        if default is _REQUIRED:
            raise ConfigError(f"{key_path(self.path, key)} is required")
        return default

    def integer(self, key: str, default: int | _Required = _REQUIRED) -> int:
        value = self._value(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, value, "must be an integer")
        return value

    def number(self, key: str, default: float | _Required = _REQUIRED) -> float:
        value = self._value(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, value, "must be a number")
        if not math.isfinite(value):
            raise self.fail(key, value, "must be a finite number")
        return value  # an int stays as written, so errors quote the value the user typed

    def optional_number(self, key: str) -> float | None:
        self._read.add(key)
        return self.number(key) if key in self._raw else None

    def string(self, key: str, default: str | _Required = _REQUIRED) -> str:
        value = self._value(key, default)
        if isinstance(value, str):
            return value
        override = self._origins.get(key_path(self.path, key))
        if override is not None:
            return override.raw  # text was wanted; the number was only a guess from the env
        raise self.fail(key, value, "must be a string")

    def optional_string(self, key: str) -> str | None:
        self._read.add(key)
        return self.string(key) if key in self._raw else None

    def boolean(self, key: str, default: bool | _Required = _REQUIRED) -> bool:
        value = self._value(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, value, "must be true or false")
        return value

    def table(self, key: str) -> _Table:
        value = self._value(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, value, "must be a table")
        return _Table(value, key_path(self.path, key), self._origins)

    def tables(self) -> Iterator[tuple[str, _Table]]:
        """Every entry, each of which must be a table (providers by name, routes by model)."""
        for key, value in self._raw.items():
            self._read.add(key)
            if not isinstance(value, dict):
                raise self.fail(key, value, "must be a table")
            yield key, _Table(value, key_path(self.path, key), self._origins)

    def array_of_tables(self, key: str) -> list[_Table]:
        value = self._value(key, _REQUIRED)
        if not isinstance(value, list) or not value:
            raise self.fail(key, value, "must be a non-empty array of tables")
        tables = []
        for index, item in enumerate(value):
            path = f"{key_path(self.path, key)}[{index}]"
            if not isinstance(item, dict):
                raise _error(path, item, "must be a table", self._origins)
            tables.append(_Table(item, path, self._origins))
        return tables

    def finish(self) -> None:
        """Reject the keys no reader asked for: they are typos or settings we do not have."""
        unknown = [key for key in self._raw if key not in self._read]
        if not unknown:
            return
        path = key_path(self.path, unknown[0])
        # The value is left out on purpose: a misplaced API key must not reach the logs.
        close = difflib.get_close_matches(unknown[0], sorted(self._read), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(sorted(self._read))}"
        raise ConfigError(
            f"{path} is not a known setting{_origin_note(path, self._origins)}; {hint}"
        )


def _int_at_least(table: _Table, key: str, minimum: int, default: int | _Required) -> int:
    value = table.integer(key, default)
    if value < minimum:
        raise table.fail(key, value, f"must be >= {minimum}")
    return value


def _positive_number(table: _Table, key: str, default: float | _Required) -> float:
    value = table.number(key, default)
    if value <= 0:
        raise table.fail(key, value, "must be > 0")
    return value


def _policy(build: Callable[[], _T], prefix: str, origins: Mapping[str, Override]) -> _T:
    """Build a policy, reporting its own range checks under the config file's key names."""
    try:
        return build()
    except PolicyError as err:
        message = f"{prefix}{err}"
        note = _origin_note(message.partition("=")[0], origins)
        raise ConfigError(f"{message}{note}") from None


# --- the sections ---------------------------------------------------------------------------


def _build(
    document: Document, origins: Mapping[str, Override], environ: Mapping[str, str]
) -> AppConfig:
    root = _Table(document, "", origins)
    server = _server(root.table("server"))
    retry = _retry(root.table("retry"), origins)
    breaker = _breaker(root.table("breaker"), origins)
    deadline = _deadline(root.table("deadline"), origins)
    providers = _providers(root.table("providers"), environ)
    stream = _stream_policy(root.table("stream"), "", StreamPolicy())
    routes = _routes(root.table("routes"), providers, stream)
    admin = _admin(root.table("admin"), environ)
    observability = _observability(root.table("observability"))
    root.finish()
    return AppConfig(
        server, providers, routes, retry, breaker, deadline, admin, observability, stream
    )


def _server(table: _Table) -> ServerConfig:
    defaults = ServerConfig()
    host = table.string("host", defaults.host)
    if not host.strip():
        raise table.fail("host", host, "must not be empty")
    port = table.integer("port", defaults.port)
    if not 1 <= port <= MAX_PORT:
        raise table.fail("port", port, f"must be between 1 and {MAX_PORT}")
    max_body_bytes = _int_at_least(table, "max_body_bytes", 1, defaults.max_body_bytes)
    log_level = table.string("log_level", defaults.log_level)
    if log_level.upper() not in LOG_LEVELS:
        raise table.fail("log_level", log_level, f"must be one of {', '.join(LOG_LEVELS)}")
    table.finish()
    return ServerConfig(host, port, max_body_bytes, log_level.upper())


def _admin(table: _Table, environ: Mapping[str, str]) -> AdminConfig:
    defaults = AdminConfig()
    token_env = table.string("token_env", defaults.token_env or "")
    if token_env and ("=" in token_env or token_env != token_env.strip()):
        raise table.fail("token_env", token_env, "must be an environment variable name")
    allow = table.boolean("allow_unauthenticated", defaults.allow_unauthenticated)
    table.finish()
    return AdminConfig(
        token_env=token_env or None,
        token=(environ.get(token_env) or None) if token_env else None,
        allow_unauthenticated=allow,
    )


def _observability(table: _Table) -> ObservabilityConfig:
    defaults = ObservabilityConfig()
    journeys_max = _int_at_least(table, "journeys_max", 1, defaults.journeys_max)
    window = _int_at_least(table, "latency_window_size", 1, defaults.latency_window_size)
    table.finish()
    return ObservabilityConfig(journeys_max, window)


def _retry(table: _Table, origins: Mapping[str, Override]) -> RetryPolicy:
    defaults = RetryPolicy()
    total = table.integer("max_attempts_total", defaults.max_attempts_total)
    per_deployment = table.integer(
        "max_attempts_per_deployment", defaults.max_attempts_per_deployment
    )
    short_retry_after = table.number("short_retry_after_max_s", defaults.short_retry_after_max_s)
    backoff_table = table.table("backoff")
    base_s = backoff_table.number("base_s", defaults.backoff.base_s)
    multiplier = backoff_table.number("multiplier", defaults.backoff.multiplier)
    cap_s = backoff_table.number("cap_s", defaults.backoff.cap_s)
    backoff_table.finish()
    table.finish()
    # BackoffPolicy names its keys "backoff.*"; in the file they live under [retry.backoff].
    backoff = _policy(lambda: BackoffPolicy(base_s, multiplier, cap_s), "retry.", origins)
    return _policy(
        lambda: RetryPolicy(total, per_deployment, short_retry_after, backoff), "", origins
    )


def _breaker(table: _Table, origins: Mapping[str, Override]) -> BreakerPolicy:
    defaults = BreakerPolicy()
    threshold = table.integer("failure_threshold", defaults.failure_threshold)
    open_duration_s = table.number("open_duration_s", defaults.open_duration_s)
    probes = table.integer("half_open_max_probes", defaults.half_open_max_probes)
    rate = table.optional_number("failure_rate_threshold")
    window_size = table.integer("window_size", defaults.window_size)
    min_calls = table.integer("min_calls_in_window", defaults.min_calls_in_window)
    table.finish()
    return _policy(
        lambda: BreakerPolicy(threshold, open_duration_s, probes, rate, window_size, min_calls),
        "",
        origins,
    )


def _deadline(table: _Table, origins: Mapping[str, Override]) -> DeadlinePolicy:
    deadline_s = table.number("request_deadline_s", DEFAULT_REQUEST_DEADLINE_S)
    table.finish()
    return _policy(lambda: DeadlinePolicy(deadline_s), "", origins)


def _stream_policy(table: _Table, prefix: str, defaults: StreamPolicy) -> StreamPolicy:
    """``[stream]`` (prefix "") or a route's ``stream_*`` keys, over ``defaults``."""
    first_token_s = _positive_number(
        table, f"{prefix}first_token_timeout_s", defaults.first_token_timeout_s
    )
    idle_s = _positive_number(table, f"{prefix}idle_timeout_s", defaults.idle_timeout_s)
    mode = table.string(f"{prefix}mode", defaults.mode)
    if mode not in STREAM_MODES:
        raise table.fail(f"{prefix}mode", mode, "must be 'relay' or 'buffered'")
    if not prefix:
        table.finish()
    return StreamPolicy(first_token_s, idle_s, cast(StreamMode, mode))


def _providers(table: _Table, environ: Mapping[str, str]) -> Mapping[str, ProviderConfig]:
    providers = {name: _provider(name, provider, environ) for name, provider in table.tables()}
    if not providers:
        raise ConfigError("providers must configure at least one provider, e.g. [providers.openai]")
    table.finish()
    return MappingProxyType(providers)


def _provider(name: str, table: _Table, environ: Mapping[str, str]) -> ProviderConfig:
    if not name or "/" in name or name != name.strip():
        # It becomes the first half of every "provider/model" deployment key.
        raise table.fail_here(name, "is not a usable provider name (no '/', no spaces)")
    wire_format = table.string("wire_format")
    if wire_format not in WIRE_FORMATS:
        allowed = ", ".join(repr(w) for w in sorted(WIRE_FORMATS))
        raise table.fail("wire_format", wire_format, f"must be one of {allowed}")
    base_url = _base_url(table)
    timeout_s = _positive_number(table, "attempt_timeout_s", DEFAULT_ATTEMPT_TIMEOUT_S)
    key_env = table.optional_string("api_key_env")
    if key_env is not None and (not key_env or "=" in key_env or key_env != key_env.strip()):
        raise table.fail("api_key_env", key_env, "must be an environment variable name")
    table.finish()
    return ProviderConfig(
        name=name,
        wire_format=cast(WireFormat, wire_format),
        base_url=base_url,
        attempt_timeout_s=timeout_s,
        api_key_env=key_env,
        api_key=(environ.get(key_env) or None) if key_env else None,
    )


def _base_url(table: _Table) -> str:
    url = table.string("base_url")
    rule = "must be an http(s) URL such as http://127.0.0.1:8001"
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port out of range
    except ValueError:
        raise table.fail("base_url", url, rule) from None
    usable = (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and not parts.query
        and not parts.fragment
        and not any(c.isspace() for c in url)
    )
    if not usable:
        raise table.fail("base_url", url, rule)
    return url.rstrip("/")


def _routes(
    table: _Table, providers: Mapping[str, ProviderConfig], stream: StreamPolicy
) -> Mapping[str, RouteConfig]:
    # A deployment is one provider serving one model, so its limits must agree on every route.
    first_seen: dict[str, tuple[str, DeploymentConfig]] = {}
    routes: dict[str, RouteConfig] = {}
    for model, route in table.tables():
        if not model.strip():
            raise route.fail_here(model, "must be a non-empty public model name")
        deployments = _route_deployments(route, providers, first_seen)
        routes[model] = RouteConfig(model, deployments, _stream_policy(route, "stream_", stream))
        route.finish()
    if not routes:
        raise ConfigError('routes must map at least one public model name, e.g. [routes."gpt-4"]')
    table.finish()
    return MappingProxyType(routes)


def _route_deployments(
    route: _Table,
    providers: Mapping[str, ProviderConfig],
    first_seen: dict[str, tuple[str, DeploymentConfig]],
) -> tuple[DeploymentConfig, ...]:
    listed_at: dict[str, str] = {}
    deployments = []
    for table in route.array_of_tables("deployments"):
        deployment = _deployment(table, providers)
        key = f"{deployment.provider}/{deployment.model}"
        if key in listed_at:
            raise table.fail_here(key, f"is already listed at {listed_at[key]}")
        listed_at[key] = table.path
        seen_path, seen = first_seen.setdefault(key, (table.path, deployment))
        if seen != deployment:
            raise table.fail_here(
                key,
                f"has context_window_tokens={deployment.context_window_tokens}, "
                f"max_output_tokens={deployment.max_output_tokens} but {seen_path} has "
                f"{seen.context_window_tokens}, {seen.max_output_tokens}: "
                "one deployment has one set of limits",
            )
        deployments.append(deployment)
    return tuple(deployments)


def _deployment(table: _Table, providers: Mapping[str, ProviderConfig]) -> DeploymentConfig:
    provider = table.string("provider")
    if provider not in providers:
        configured = ", ".join(sorted(providers))
        raise table.fail(
            "provider", provider, f"is not a configured provider (configured: {configured})"
        )
    model = table.string("model")
    if not model.strip():
        raise table.fail("model", model, "must be a non-empty model name")
    context = _int_at_least(table, "context_window_tokens", 1, _REQUIRED)
    output = _int_at_least(table, "max_output_tokens", 1, _REQUIRED)
    if output > context:
        raise table.fail(
            "max_output_tokens", output, f"must be <= context_window_tokens ({context})"
        )
    table.finish()
    return DeploymentConfig(provider, model, context, output)


__all__ = [
    "AdminConfig",
    "AppConfig",
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
    "WireFormat",
    "default_config",
    "default_document",
    "load_config",
]
