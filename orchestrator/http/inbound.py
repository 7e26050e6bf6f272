"""One request path for every caller API: read -> parse -> check -> engine -> render.

Each caller API (OpenAI chat completions, Anthropic messages, OpenAI embeddings) is a
:class:`CallerApi`: how its body becomes our request, and how an answer, a failure, a
rejection and a stream are written in its wire format. Everything between (the deadline
header, the engine with its retries, failover, breakers and journeys, the relay) is this one
path, so a reliability rule holds for every API at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Final, Protocol

from aiohttp import web

from orchestrator.answers import Completion
from orchestrator.engine import Failure, Success
from orchestrator.http.body import BodyError, read_body
from orchestrator.http.caller_timeout import TIMEOUT_HEADER, BadTimeoutHeader, caller_deadline_s
from orchestrator.http.context import REQUEST_ID_HEADER, SUMMARY_KEY, request_id_from
from orchestrator.http.keys import (
    CONFIG_KEY,
    ENGINE_KEY,
    ROUTER_KEY,
    RUNTIME_KEY,
    STREAM_RELAY_KEY,
    TELEMETRY_KEY,
)
from orchestrator.http.validation import RouteLimits, ValidationError
from orchestrator.requests import RoutedRequest
from orchestrator.streaming.reader import UpstreamStream
from orchestrator.streaming.relay import StreamRenderer
from orchestrator.telemetry.logs import JOURNEY_LOGGER, REQUEST_ID

journey_log: Final = logging.getLogger(JOURNEY_LOGGER)
validation_log: Final = logging.getLogger("orchestrator.validation")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class CallerApi(Protocol):
    """One caller API's wire format around the shared path."""

    def parse(self, body: bytes, request: web.Request, router: RouteLimits) -> RoutedRequest:
        """The body as our request, checked against the routes; :class:`ValidationError`."""
        ...

    def rejected(self, error: ValidationError, request_id: str) -> web.Response: ...

    def body_error(self, error: BodyError, request_id: str) -> web.Response: ...

    def completion(
        self, result: Success, completion: Completion, request_id: str
    ) -> web.Response: ...

    def failure(self, result: Failure, request_id: str) -> web.Response: ...

    def renderer(
        self, chat: RoutedRequest, result: Success, stream: UpstreamStream, request_id: str,
        created_s: int,
    ) -> StreamRenderer:  # fmt: skip
        """The encoder of a relayed stream, made at its commit point."""
        ...


def handler_for(api: CallerApi) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        return await serve(request, api)

    return handle


async def serve(request: web.Request, api: CallerApi) -> web.StreamResponse:
    request_id = REQUEST_ID.get() or request_id_from(request)
    app = request.app
    try:
        raw = await read_body(request, app[CONFIG_KEY].server)
    except BodyError as exc:
        return api.body_error(exc, request_id)
    try:
        chat = api.parse(raw, request, app[ROUTER_KEY])
        deadline_s = caller_deadline_s(request.headers)
    except ValidationError as exc:
        return _rejected(app, api, exc, request_id)
    except BadTimeoutHeader as exc:
        error = ValidationError(400, str(exc), TIMEOUT_HEADER, "invalid_value")
        return _rejected(app, api, error, request_id)
    if journey_log.isEnabledFor(logging.DEBUG):
        journey_log.debug("received", extra={"event": "received", "model": chat.model})
    try:
        result = await app[ENGINE_KEY].run(chat, request_id, deadline_s)
    except asyncio.CancelledError:
        app[TELEMETRY_KEY].on_client_disconnect(chat)  # left before any answer: still counted
        raise
    answered_by = result.deployment.provider.name if isinstance(result, Success) else None
    request[SUMMARY_KEY] = (chat.model, answered_by, len(result.attempts))
    if not isinstance(result, Success):
        return api.failure(result, request_id)
    if isinstance(result.answer, Completion):
        return api.completion(result, result.answer, request_id)
    stream = result.answer
    created_s = int(app[RUNTIME_KEY].wall_clock())
    renderer = api.renderer(chat, result, stream, request_id, created_s)
    headers = {REQUEST_ID_HEADER: request_id}
    return await app[STREAM_RELAY_KEY].serve(request, result, request_id, renderer, headers)


def _rejected(
    app: web.Application, api: CallerApi, exc: ValidationError, request_id: str
) -> web.Response:
    validation_log.info(
        "rejected",
        extra={"event": "rejected", "param": exc.param, "code": exc.code, "status": exc.status},
    )
    app[TELEMETRY_KEY].on_rejection(request_id, exc)
    return api.rejected(exc, request_id)
