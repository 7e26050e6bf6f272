"""The document (defaults, file, environment) read into an :class:`AppConfig`, section by
section; every bad value raises :class:`ConfigError` naming the key and the value."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, cast
from urllib.parse import urlsplit

from orchestrator.capabilities import Capability, resolve
from orchestrator.config.caller_keys import read_auth
from orchestrator.config.env_secrets import secret_from_env
from orchestrator.config.sections import (
    DEFAULT_ATTEMPT_TIMEOUT_S,
    AdminConfig,
    AppConfig,
    DeploymentConfig,
    ObservabilityConfig,
    ProviderConfig,
    RouteConfig,
    ServerConfig,
)
from orchestrator.config.sources import ConfigError, Document, Override
from orchestrator.config.table import (
    REQUIRED,
    Table,
    int_at_least,
    policy,
    positive_number,
)
from orchestrator.policies import (
    DEFAULT_REQUEST_DEADLINE_S,
    STREAM_MODES,
    BackoffPolicy,
    BreakerPolicy,
    DeadlinePolicy,
    RetryPolicy,
    StreamMode,
    StreamPolicy,
)
from orchestrator.providers.openai_embeddings import EMBEDDING_WIRE_FORMATS
from orchestrator.providers.registry import wire_formats
from orchestrator.routing.strategies import STRATEGIES

LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MAX_PORT: Final = 65_535


def build_config(
    document: Document, origins: Mapping[str, Override], environ: Mapping[str, str]
) -> AppConfig:
    root = Table(document, "", origins)
    server = _server(root.table("server"))
    retry = _retry(root.table("retry"), origins)
    breaker = _breaker(root.table("breaker"), origins)
    deadline = _deadline(root.table("deadline"), origins)
    providers = _providers(root.table("providers"), environ)
    stream = _stream_policy(root.table("stream"), "", StreamPolicy())
    routes = _routes(root.table("routes"), providers, stream)
    admin = _admin(root.table("admin"), environ)
    observability = _observability(root.table("observability"))
    auth = read_auth(root.table("auth"), environ)
    root.finish()
    return AppConfig(
        server, providers, routes, retry, breaker, deadline, admin, observability, stream, auth
    )


def _server(table: Table) -> ServerConfig:
    defaults = ServerConfig()
    host = table.string("host", defaults.host)
    if not host.strip():
        raise table.fail("host", host, "must not be empty")
    port = table.integer("port", defaults.port)
    if not 1 <= port <= MAX_PORT:
        raise table.fail("port", port, f"must be between 1 and {MAX_PORT}")
    max_body_bytes = int_at_least(table, "max_body_bytes", 1, defaults.max_body_bytes)
    log_level = table.string("log_level", defaults.log_level)
    if log_level.upper() not in LOG_LEVELS:
        raise table.fail("log_level", log_level, f"must be one of {', '.join(LOG_LEVELS)}")
    body_s = positive_number(table, "body_read_timeout_s", defaults.body_read_timeout_s)
    table.finish()
    return ServerConfig(host, port, max_body_bytes, log_level.upper(), body_s)


def _admin(table: Table, environ: Mapping[str, str]) -> AdminConfig:
    defaults = AdminConfig()
    token_env = table.string("token_env", defaults.token_env or "")
    if token_env and ("=" in token_env or token_env != token_env.strip()):
        raise table.fail("token_env", token_env, "must be an environment variable name")
    allow = table.boolean("allow_unauthenticated", defaults.allow_unauthenticated)
    table.finish()
    return AdminConfig(
        token_env=token_env or None,
        token=secret_from_env(environ, token_env, table.path) if token_env else None,
        allow_unauthenticated=allow,
    )


def _observability(table: Table) -> ObservabilityConfig:
    defaults = ObservabilityConfig()
    journeys_max = int_at_least(table, "journeys_max", 1, defaults.journeys_max)
    window = int_at_least(table, "latency_window_size", 1, defaults.latency_window_size)
    max_bytes = int_at_least(table, "journeys_max_bytes", 1024, defaults.journeys_max_bytes)
    table.finish()
    return ObservabilityConfig(journeys_max, window, max_bytes)


def _retry(table: Table, origins: Mapping[str, Override]) -> RetryPolicy:
    defaults = RetryPolicy()
    total = table.integer("max_attempts_total", defaults.max_attempts_total)
    per_deployment = table.integer(
        "max_attempts_per_deployment", defaults.max_attempts_per_deployment
    )
    short_retry_after = table.number("short_retry_after_max_s", defaults.short_retry_after_max_s)
    ratio = table.number("budget_ratio", 0.0)  # 0 (the default): no budget
    budget_floor = table.number("budget_min_retries_per_s", defaults.budget_min_retries_per_s)
    budget_window = table.number("budget_window_s", defaults.budget_window_s)
    backoff_table = table.table("backoff")
    base_s = backoff_table.number("base_s", defaults.backoff.base_s)
    multiplier = backoff_table.number("multiplier", defaults.backoff.multiplier)
    cap_s = backoff_table.number("cap_s", defaults.backoff.cap_s)
    backoff_table.finish()
    table.finish()
    # BackoffPolicy names its keys "backoff.*"; in the file they live under [retry.backoff].
    backoff = policy(lambda: BackoffPolicy(base_s, multiplier, cap_s), "retry.", origins)
    return policy(
        lambda: RetryPolicy(
            total,
            per_deployment,
            short_retry_after,
            backoff,
            ratio if ratio != 0 else None,
            budget_floor,
            budget_window,
        ),
        "",
        origins,
    )


def _breaker(table: Table, origins: Mapping[str, Override]) -> BreakerPolicy:
    defaults = BreakerPolicy()
    threshold = table.integer("failure_threshold", defaults.failure_threshold)
    open_duration_s = table.number("open_duration_s", defaults.open_duration_s)
    probes = table.integer("half_open_max_probes", defaults.half_open_max_probes)
    rate = table.number("failure_rate_threshold", defaults.failure_rate_threshold or 1.0)
    window_size = table.integer("window_size", defaults.window_size)
    min_calls = table.integer("min_calls_in_window", defaults.min_calls_in_window)
    slow_rate = table.number("slow_call_rate_threshold", defaults.slow_call_rate_threshold)
    half_open_calls = table.integer("half_open_calls", defaults.half_open_calls)
    half_open_rate = table.number("half_open_success_rate", defaults.half_open_success_rate)
    # 0 turns the all-open probes off (TOML has no null).
    every_s = table.number("all_open_probe_interval_s", defaults.all_open_probe_interval_s or 0)
    interval = every_s if every_s != 0 else None
    table.finish()
    return policy(
        lambda: BreakerPolicy(
            threshold,
            open_duration_s,
            probes,
            rate,
            window_size,
            min_calls,
            slow_rate,
            half_open_calls,
            half_open_rate,
            interval,
        ),
        "",
        origins,
    )


def _deadline(table: Table, origins: Mapping[str, Override]) -> DeadlinePolicy:
    deadline_s = table.number("request_deadline_s", DEFAULT_REQUEST_DEADLINE_S)
    table.finish()
    return policy(lambda: DeadlinePolicy(deadline_s), "", origins)


def _stream_policy(table: Table, prefix: str, defaults: StreamPolicy) -> StreamPolicy:
    """``[stream]`` (prefix "") or a route's ``stream_*`` keys, over ``defaults``."""
    first_token_s = positive_number(
        table, f"{prefix}first_token_timeout_s", defaults.first_token_timeout_s
    )
    idle_s = positive_number(table, f"{prefix}idle_timeout_s", defaults.idle_timeout_s)
    mode = table.string(f"{prefix}mode", defaults.mode)
    if mode not in STREAM_MODES:
        raise table.fail(f"{prefix}mode", mode, "must be 'relay' or 'buffered'")
    max_s = positive_number(table, f"{prefix}max_duration_s", defaults.max_duration_s)
    if not prefix:
        table.finish()
    return StreamPolicy(first_token_s, idle_s, cast(StreamMode, mode), max_s)


def _providers(table: Table, environ: Mapping[str, str]) -> Mapping[str, ProviderConfig]:
    providers = {name: _provider(name, provider, environ) for name, provider in table.tables()}
    if not providers:
        raise ConfigError("providers must configure at least one provider, e.g. [providers.openai]")
    table.finish()
    return MappingProxyType(providers)


def _provider(name: str, table: Table, environ: Mapping[str, str]) -> ProviderConfig:
    if not name or "/" in name or name != name.strip():
        # It becomes the first half of every "provider/model" deployment key.
        raise table.fail_here(name, "is not a usable provider name (no '/', no spaces)")
    wire_format = table.string("wire_format")
    if wire_format not in wire_formats():
        allowed = ", ".join(repr(w) for w in sorted(wire_formats()))
        raise table.fail("wire_format", wire_format, f"must be one of {allowed}")
    base_url = _base_url(table)
    timeout_s = positive_number(table, "attempt_timeout_s", DEFAULT_ATTEMPT_TIMEOUT_S)
    slow_s = table.optional_number("slow_call_duration_s")
    if slow_s is not None and slow_s <= 0:
        raise table.fail("slow_call_duration_s", slow_s, "must be > 0")
    capabilities = _capabilities(table, wire_format)
    probe_s = table.optional_number("probe_interval_s")
    if probe_s is not None and probe_s <= 0:
        raise table.fail("probe_interval_s", probe_s, "must be > 0 (or left out: no probes)")
    probe_message = table.string("probe_message", "ping")
    if not probe_message.strip():
        raise table.fail("probe_message", probe_message, "must be a non-empty message")
    key_env = table.optional_string("api_key_env")
    if key_env is not None and (not key_env or "=" in key_env or key_env != key_env.strip()):
        raise table.fail("api_key_env", key_env, "must be an environment variable name")
    table.finish()
    return ProviderConfig(
        name=name,
        wire_format=wire_format,
        base_url=base_url,
        attempt_timeout_s=timeout_s,
        slow_call_duration_s=slow_s,
        capability_overrides=capabilities,
        probe_interval_s=probe_s,
        probe_message=probe_message,
        api_key_env=key_env,
        api_key=secret_from_env(environ, key_env, table.path) if key_env else None,
    )


def _base_url(table: Table) -> str:
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
    table: Table, providers: Mapping[str, ProviderConfig], stream: StreamPolicy
) -> Mapping[str, RouteConfig]:
    # A deployment is one provider serving one model, so its limits must agree on every route.
    first_seen: dict[str, tuple[str, DeploymentConfig]] = {}
    routes: dict[str, RouteConfig] = {}
    for model, route in table.tables():
        if not model.strip():
            raise route.fail_here(model, "must be a non-empty public model name")
        deployments = _route_deployments(route, providers, first_seen)
        strategy = route.string("strategy", "priority")
        if strategy not in STRATEGIES:
            allowed = ", ".join(repr(name) for name in STRATEGIES)
            raise route.fail("strategy", strategy, f"must be one of {allowed}")
        stream_policy = _stream_policy(route, "stream_", stream)
        hedge_after_s = route.optional_number("hedge_after_s")
        if hedge_after_s is not None and hedge_after_s <= 0:
            raise route.fail(
                "hedge_after_s", hedge_after_s, "must be > 0 (or left out: no hedging)"
            )
        hedge_budget = route.number("hedge_budget", 0.1)
        if not 0 < hedge_budget <= 1:
            raise route.fail("hedge_budget", hedge_budget, "must be > 0 and <= 1")
        routes[model] = RouteConfig(
            model, deployments, stream_policy, strategy, hedge_after_s, hedge_budget
        )
        route.finish()
    if not routes:
        raise ConfigError('routes must map at least one public model name, e.g. [routes."gpt-4"]')
    table.finish()
    return MappingProxyType(routes)


def _route_deployments(
    route: Table,
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


def _deployment(table: Table, providers: Mapping[str, ProviderConfig]) -> DeploymentConfig:
    provider = table.string("provider")
    if provider not in providers:
        configured = ", ".join(sorted(providers))
        raise table.fail(
            "provider", provider, f"is not a configured provider (configured: {configured})"
        )
    model = table.string("model")
    if not model.strip():
        raise table.fail("model", model, "must be a non-empty model name")
    context = int_at_least(table, "context_window_tokens", 1, REQUIRED)
    output = int_at_least(table, "max_output_tokens", 1, REQUIRED)
    if output > context:
        raise table.fail(
            "max_output_tokens", output, f"must be <= context_window_tokens ({context})"
        )
    weight = positive_number(table, "weight", 1.0)
    base = providers[provider]
    own = _capabilities(table, base.wire_format)
    table.finish()
    # Without its own table the router applies the provider's defaults.
    capabilities = resolve(base.wire_format, base.capability_overrides, own) if own else None
    return DeploymentConfig(provider, model, context, output, weight, capabilities)


def _capabilities(table: Table, wire_format: str) -> tuple[tuple[str, bool], ...]:
    """A ``capabilities = { n = false, prefill = true }`` table, every key a capability."""
    section = table.table("capabilities")
    known = {c.value for c in Capability}
    overrides = []
    for name in list(section.keys()):
        if name not in known:
            allowed = ", ".join(sorted(known))
            raise section.fail(name, name, f"is not a capability (known: {allowed})")
        enabled = section.boolean(name)
        if name == Capability.EMBEDDINGS and enabled and wire_format not in EMBEDDING_WIRE_FORMATS:
            raise section.fail(
                name, enabled, f"the {wire_format!r} wire format has no embeddings API"
            )
        overrides.append((name, enabled))
    section.finish()
    return tuple(overrides)
