"""``POST /v1/chat/completions``: parse -> engine -> render (JSON, or a relayed stream)."""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from aiohttp import web

from orchestrator.answers import Completion
from orchestrator.engine import Success
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
from orchestrator.http.openai_chunks import ChunkEncoder
from orchestrator.http.render import body_error, completion_response, failure_response
from orchestrator.http.responses import error_response
from orchestrator.http.validation import ValidationError, validate_chat_request
from orchestrator.streaming.reader import UpstreamStream
from orchestrator.telemetry.logs import JOURNEY_LOGGER, REQUEST_ID
from shared.models import ChatRequest, openai_error_body

CHAT_PATH: Final = "/v1/chat/completions"

journey_log: Final = logging.getLogger(JOURNEY_LOGGER)
validation_log: Final = logging.getLogger("orchestrator.validation")


async def chat_completions(request: web.Request) -> web.StreamResponse:
    request_id = REQUEST_ID.get() or request_id_from(request)
    app = request.app
    try:
        raw = await read_body(request, app[CONFIG_KEY].server)
    except BodyError as exc:
        return body_error(exc, request_id)
    try:
        chat = validate_chat_request(raw, app[ROUTER_KEY])
    except ValidationError as exc:
        return _rejected(app, exc, request_id)
    if journey_log.isEnabledFor(logging.DEBUG):
        journey_log.debug(
            "received",
            extra={"event": "received", "model": chat.model, "messages": len(chat.messages)},
        )
    try:
        deadline_s = caller_deadline_s(request.headers)
    except BadTimeoutHeader as exc:
        return _rejected(
            app, ValidationError(400, str(exc), TIMEOUT_HEADER, "invalid_value"), request_id
        )
    try:
        result = await app[ENGINE_KEY].run(chat, request_id, deadline_s)
    except asyncio.CancelledError:
        app[TELEMETRY_KEY].on_client_disconnect(chat)  # left before any answer: still counted
        raise
    answered_by = result.deployment.provider.name if isinstance(result, Success) else None
    request[SUMMARY_KEY] = (chat.model, answered_by, len(result.attempts))
    if not isinstance(result, Success):
        return failure_response(result, request_id)
    if isinstance(result.answer, Completion):
        return completion_response(result, result.answer, request_id)
    return await _relay(request, chat, result, result.answer, request_id)


async def _relay(
    request: web.Request,
    chat: ChatRequest,
    result: Success,
    stream: UpstreamStream,
    request_id: str,
) -> web.StreamResponse:
    app = request.app
    include_usage = chat.stream_options is not None and chat.stream_options.include_usage
    encoder = ChunkEncoder(
        stream.upstream_id or f"chatcmpl-{request_id}",
        int(app[RUNTIME_KEY].wall_clock()),
        stream.upstream_model or result.deployment.model,
        include_usage,
        stream.meta,
    )
    headers = {REQUEST_ID_HEADER: request_id}
    return await app[STREAM_RELAY_KEY].serve(request, result, request_id, encoder, headers)


def _rejected(app: web.Application, exc: ValidationError, request_id: str) -> web.Response:
    validation_log.info(
        "rejected",
        extra={"event": "rejected", "param": exc.param, "code": exc.code, "status": exc.status},
    )
    app[TELEMETRY_KEY].on_rejection(request_id, exc)
    body = openai_error_body(exc.message, exc.error_type, exc.param, exc.code)
    return error_response(exc.status, body, request_id)
