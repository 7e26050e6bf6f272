"""``create_app(config)``: wiring only -- the parts, their keys, routes and lifecycles."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from orchestrator.breaker import BreakerRegistry
from orchestrator.breaker.prober import BackgroundProber, run_until_cancelled
from orchestrator.config import AppConfig
from orchestrator.engine import Engine
from orchestrator.engine.attempt import WireUpstream
from orchestrator.http.admin import AdminContext, add_admin_routes
from orchestrator.http.caller_auth import caller_auth_middleware
from orchestrator.http.chat import CHAT_PATH, chat_completions
from orchestrator.http.context import REQUEST_IDS_KEY, AccessLine, request_context_middleware
from orchestrator.http.embeddings import EMBEDDINGS_PATH, embeddings
from orchestrator.http.health import health
from orchestrator.http.keys import (
    BREAKERS_KEY,
    CONFIG_KEY,
    ENGINE_KEY,
    ROUTER_KEY,
    RUNTIME_KEY,
    STREAM_RELAY_KEY,
    TELEMETRY_KEY,
    TRANSPORT_KEY,
    Runtime,
)
from orchestrator.http.messages import COUNT_TOKENS_PATH, MESSAGES_PATH, count_tokens, messages
from orchestrator.http.request_ids import RequestIds
from orchestrator.redaction import Redactor
from orchestrator.routing.router import Router
from orchestrator.streaming.observer import STREAM_OBSERVER_KEY, NullStreamObserver
from orchestrator.streaming.relay import StreamRelay
from orchestrator.telemetry.fanout import Telemetry
from orchestrator.transport.base import Transport
from orchestrator.transport.pool import ProviderPool

__all__ = ["AccessLine", "Runtime", "create_app"]


def create_app(config: AppConfig, runtime: Runtime | None = None) -> web.Application:
    runtime = runtime or Runtime()
    telemetry = Telemetry(config.observability, runtime.wall_clock)
    app = web.Application(
        middlewares=[
            request_context_middleware,
            # Only when keys are configured: a layer that only passes requests on costs too.
            *([caller_auth_middleware(config.auth)] if config.auth.enabled else []),
            telemetry.chat_middleware(runtime.clock),
        ],
        client_max_size=config.server.max_body_bytes,
    )
    breakers = BreakerRegistry(config.breaker, runtime.clock, on_transition=telemetry.on_transition)
    telemetry.metrics.watch_breakers(breakers)
    router = Router(config, breakers, runtime.clock, runtime.random)
    app[REQUEST_IDS_KEY] = RequestIds()
    app[CONFIG_KEY] = config
    app[RUNTIME_KEY] = runtime
    app[BREAKERS_KEY] = breakers
    app[ROUTER_KEY] = router
    app[TELEMETRY_KEY] = telemetry
    app[STREAM_OBSERVER_KEY] = telemetry
    app.cleanup_ctx.append(_engine_lifecycle)
    app.router.add_post(CHAT_PATH, chat_completions)
    app.router.add_post(MESSAGES_PATH, messages)
    app.router.add_post(COUNT_TOKENS_PATH, count_tokens)
    app.router.add_post(EMBEDDINGS_PATH, embeddings)
    app.router.add_get("/health", health)
    admin = AdminContext(config, breakers, router, telemetry, runtime.clock, runtime.wall_clock)
    add_admin_routes(app, admin)
    return app


async def _engine_lifecycle(app: web.Application) -> AsyncIterator[None]:
    """The transport (one keep-alive pool per app), and the engine and relay that use it."""
    runtime = app[RUNTIME_KEY]
    config = app[CONFIG_KEY]
    transport: Transport = app.get(TRANSPORT_KEY) or ProviderPool(runtime.clock)
    app[TRANSPORT_KEY] = transport
    stream_observer = app.get(STREAM_OBSERVER_KEY) or NullStreamObserver()
    redactor = Redactor.for_config(config)
    app[STREAM_RELAY_KEY] = StreamRelay(
        app[BREAKERS_KEY], stream_observer, runtime.clock, runtime.wall_clock, redactor
    )
    stream_policies = {model: route.stream for model, route in config.routes.items()}
    upstream = WireUpstream(
        transport, runtime.clock, stream_policies, stream_observer.on_malformed_event, redactor
    )
    app[ENGINE_KEY] = Engine(
        router=app[ROUTER_KEY],
        breakers=app[BREAKERS_KEY],
        upstream=upstream,
        retry=config.retry,
        deadline=config.deadline,
        clock=runtime.clock,
        sleep=runtime.sleep,
        random=runtime.random,
        observer=app[TELEMETRY_KEY],
    )
    prober = BackgroundProber(
        app[ROUTER_KEY].deployments(),
        app[BREAKERS_KEY],
        upstream,
        app[TELEMETRY_KEY],
        clock=runtime.clock,
        sleep=runtime.sleep,
    )
    probing = asyncio.create_task(run_until_cancelled(prober)) if prober.enabled else None
    yield
    if probing is not None:
        probing.cancel()
        await probing
    await transport.close()
