"""``create_app(config)``: routes, middlewares and the client-session lifecycle."""

from __future__ import annotations

import asyncio
import logging
import random as random_module
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

import aiohttp
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest

from orchestrator.admin import AdminContext, add_admin_routes
from orchestrator.breaker import BreakerRegistry
from orchestrator.config import AppConfig
from orchestrator.engine import Engine, Failure, HttpUpstream, Success
from orchestrator.observability import JOURNEY_LOGGER, REQUEST_ID
from orchestrator.provider_pool import ProviderPool
from orchestrator.responses import error_response, json_response
from orchestrator.router import Router
from orchestrator.streaming.attempt import StreamingUpstream
from orchestrator.streaming.observer import STREAM_OBSERVER_KEY, NullStreamObserver
from orchestrator.streaming.relay import STREAM_RELAY_KEY, StreamRelay
from orchestrator.telemetry import Telemetry
from orchestrator.upstream import provider_session
from orchestrator.validation import ValidationError, validate_chat_request
from shared.jsonlog import log_fields
from shared.models import attempts_json, openai_error_body

log: Final = logging.getLogger("orchestrator")
journey_log: Final = logging.getLogger(JOURNEY_LOGGER)

# (public model, provider that answered or None, attempts): folded into the access line, so a
# healthy request costs one log line and still says who answered it.
SUMMARY_KEY: Final = web.RequestKey("summary", tuple[str, str | None, int])

REQUEST_ID_HEADER: Final = "X-Request-ID"
# A request id names a request in logs; it guards nothing, so it needs uniqueness, not a
# getrandom() system call per request (what secrets.token_hex costs).
_request_ids: Final = random_module.Random()
_SANE_REQUEST_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Runtime:
    """Injected time and randomness: real by default, fakes in tests."""

    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    random: Callable[[], float] = random_module.SystemRandom().random
    wall_clock: Callable[[], float] = time.time  # only for timestamps shown to people


CONFIG_KEY: Final = web.AppKey("config", AppConfig)
RUNTIME_KEY: Final = web.AppKey("runtime", Runtime)
BREAKERS_KEY: Final = web.AppKey("breakers", BreakerRegistry)
ROUTER_KEY: Final = web.AppKey("router", Router)
SESSION_KEY: Final = web.AppKey("session", aiohttp.ClientSession)
POOL_KEY: Final = web.AppKey("provider_pool", ProviderPool)
ENGINE_KEY: Final = web.AppKey("engine", Engine)
TELEMETRY_KEY: Final = web.AppKey("telemetry", Telemetry)


def create_app(config: AppConfig, runtime: Runtime | None = None) -> web.Application:
    runtime = runtime or Runtime()
    telemetry = Telemetry(config.observability, runtime.wall_clock)
    app = web.Application(
        middlewares=[request_context_middleware, telemetry.chat_middleware(runtime.clock)],
        client_max_size=config.server.max_body_bytes,
    )
    breakers = BreakerRegistry(config.breaker, runtime.clock, on_transition=telemetry.on_transition)
    telemetry.metrics.watch_breakers(breakers)
    app[CONFIG_KEY] = config
    app[RUNTIME_KEY] = runtime
    app[BREAKERS_KEY] = breakers
    app[ROUTER_KEY] = Router(config, breakers, runtime.clock)
    app[TELEMETRY_KEY] = telemetry
    app[STREAM_OBSERVER_KEY] = telemetry
    app.cleanup_ctx.append(_client_session)
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_get("/health", health)
    add_admin_routes(
        app,
        AdminContext(
            config, breakers, app[ROUTER_KEY], telemetry, runtime.clock, runtime.wall_clock
        ),
    )
    return app


async def _client_session(app: web.Application) -> AsyncIterator[None]:
    """One connection pool and one aiohttp session (streams) per app, reused across requests."""
    session = provider_session()
    runtime = app[RUNTIME_KEY]
    pool = ProviderPool(runtime.clock)
    app[SESSION_KEY] = session
    app[POOL_KEY] = pool
    config = app[CONFIG_KEY]
    stream_observer = app.get(STREAM_OBSERVER_KEY) or NullStreamObserver()
    app[STREAM_RELAY_KEY] = StreamRelay(
        app[BREAKERS_KEY], stream_observer, runtime.clock, runtime.wall_clock
    )
    plain = HttpUpstream(pool, runtime.clock)
    app[ENGINE_KEY] = Engine(
        router=app[ROUTER_KEY],
        breakers=app[BREAKERS_KEY],
        upstream=StreamingUpstream(plain, session, config, runtime.clock, stream_observer),
        retry=config.retry,
        deadline=config.deadline,
        clock=runtime.clock,
        sleep=runtime.sleep,
        random=runtime.random,
        observer=app[TELEMETRY_KEY],
    )
    yield
    await pool.close()
    await session.close()


def request_id_from(request: web.Request) -> str:
    given = request.headers.get(REQUEST_ID_HEADER)
    if given is not None and _SANE_REQUEST_ID.fullmatch(given):
        return given
    return f"req_{_request_ids.getrandbits(96):024x}"


@web.middleware
async def request_context_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Request id in, request id out, and never a stack trace (the access line: below)."""
    request_id = request_id_from(request)
    token = REQUEST_ID.set(request_id)
    try:
        response = await _guarded(request, handler, request_id)
        response.headers[REQUEST_ID_HEADER] = request_id
        return response
    finally:
        REQUEST_ID.reset(token)


async def _guarded(request: web.Request, handler: Handler, request_id: str) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_response(
            exc.status,
            openai_error_body(exc.reason, _http_error_type(exc.status), None, None),
            request_id,
        )
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("unhandled error", extra={"event": "internal_error"})
        return error_response(
            500,
            openai_error_body(
                "The orchestrator hit an internal error; the request id is in this body and in "
                "the logs.",
                "server_error",
                None,
                "internal_error",
            ),
            request_id,
        )


def _http_error_type(status: int) -> str:
    return "invalid_request_error" if status < 500 else "server_error"


class AccessLine(AbstractAccessLogger):
    """One JSON access line per request, written by aiohttp once the answer is sent.

    ``python -m orchestrator`` passes it to ``run_app`` (``access_log_class``): the line
    costs the caller no latency, and it is written even when the client hung up early.
    """

    def log(self, request: BaseRequest, response: web.StreamResponse, time: float) -> None:
        # Health probes every few seconds would drown the requests that matter.
        if request.path.startswith("/health") and response.status == 200:
            return
        if not self.logger.isEnabledFor(logging.INFO):
            return
        fields: dict[str, object] = {
            "request_id": response.headers.get(REQUEST_ID_HEADER),
            "event": "access",
            "method": request.method,
            "path": request.path,
            "status": response.status,
            "duration_ms": round(time * 1000.0, 3),
        }
        summary = request.get(SUMMARY_KEY)
        if summary is not None:
            fields["model"], fields["provider"], fields["attempts"] = summary
        log_fields(self.logger, "request", fields)


async def chat_completions(request: web.Request) -> web.StreamResponse:
    request_id = REQUEST_ID.get() or request_id_from(request)
    app = request.app
    if (
        request.content_length is not None
        and request.content_length > request.app[CONFIG_KEY].server.max_body_bytes
    ):
        return _too_large(app[CONFIG_KEY].server.max_body_bytes, request_id)
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _too_large(app[CONFIG_KEY].server.max_body_bytes, request_id)
    try:
        chat = validate_chat_request(raw, app[ROUTER_KEY])
    except ValidationError as exc:
        logging.getLogger("orchestrator.validation").info(
            "rejected",
            extra={"event": "rejected", "param": exc.param, "code": exc.code, "status": exc.status},
        )
        app[TELEMETRY_KEY].on_rejection(request_id, exc)
        body = openai_error_body(exc.message, exc.error_type, exc.param, exc.code)
        return error_response(exc.status, body, request_id)
    if journey_log.isEnabledFor(logging.DEBUG):
        journey_log.debug(
            "received",
            extra={"event": "received", "model": chat.model, "messages": len(chat.messages)},
        )
    result = await app[ENGINE_KEY].run(chat, request_id)
    answered_by = result.deployment.provider.name if isinstance(result, Success) else None
    request[SUMMARY_KEY] = (chat.model, answered_by, len(result.attempts))
    if isinstance(result, Success):
        if result.stream is not None:
            include_usage = chat.stream_options is not None and chat.stream_options.include_usage
            return await app[STREAM_RELAY_KEY].serve(
                request, result, request_id, include_usage, {REQUEST_ID_HEADER: request_id}
            )
        return json_response(_completion_body(result, request_id))
    return _failure_response(result, request_id)


def _too_large(limit: int, request_id: str) -> web.Response:
    body = openai_error_body(
        f"The request body is larger than the limit of {limit} bytes.",
        "invalid_request_error",
        None,
        "request_too_large",
    )
    return error_response(413, body, request_id)


def _completion_body(result: Success, request_id: str) -> dict[str, Any]:
    completion = result.completion
    if completion is None:
        raise ValueError("a non-streaming Success carries a completion")
    return {
        "id": completion.upstream_id or f"chatcmpl-{request_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": result.deployment.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": completion.content},
                "finish_reason": completion.finish_reason,
                "logprobs": None,
            }
        ],
        "usage": completion.usage.to_openai(),
        "request_id": request_id,
        "content": completion.content,
        "provider": result.deployment.provider.name,
        "attempts": len(result.attempts),
        "total_latency_ms": round(result.total_latency_s * 1000.0, 3),
        "attempt_log": attempts_json(result.attempts),
    }


def _failure_response(result: Failure, request_id: str) -> web.Response:
    body = openai_error_body(result.message, result.error_type, result.param, result.code)
    if result.provider_error is not None:
        body["error"]["provider_error"] = result.provider_error
    body["attempts"] = len(result.attempts)
    body["total_latency_ms"] = round(result.total_latency_s * 1000.0, 3)
    body["attempt_log"] = attempts_json(result.attempts)
    headers = None
    if result.retry_after_s is not None:
        headers = {"Retry-After": str(max(1, round(result.retry_after_s + 0.499)))}
    return error_response(result.status, body, request_id, headers)


async def health(request: web.Request) -> web.Response:
    breakers = request.app[BREAKERS_KEY]
    router = request.app[ROUTER_KEY]
    deployments = {
        d.key: breakers.get(d.key).snapshot()
        for model in request.app[CONFIG_KEY].routes
        for d in router.route(model) or ()
    }
    return json_response({"status": "ok", "deployments": deployments})
