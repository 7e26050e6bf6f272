"""``POST /v1/messages`` (and ``/count_tokens``): the Anthropic Messages API around the
shared path.

The request is read into our request once (:mod:`shared.anthropic_parsing`), so it is
routed, retried, failed over (to either wire format), traced and measured exactly as a chat
completion is; only its answers are written in Anthropic's shapes
(:mod:`.anthropic_render`, :mod:`.anthropic_events`). The ``anthropic-beta`` header rides to
Anthropic deployments; ``anthropic-version`` is accepted whatever it says (each deployment
sends the version its adapter speaks).
"""

from __future__ import annotations

from typing import Any, Final, final

import orjson
from aiohttp import web

from orchestrator.answers import Completion
from orchestrator.engine import Failure, Success
from orchestrator.http.anthropic_events import AnthropicEventEncoder
from orchestrator.http.anthropic_render import anthropic_error_body, caller_status, message_body
from orchestrator.http.body import BodyError, read_body
from orchestrator.http.context import request_id_from
from orchestrator.http.inbound import handler_for
from orchestrator.http.keys import CONFIG_KEY, ROUTER_KEY
from orchestrator.http.render import orchestrator_fields, retry_after_headers
from orchestrator.http.responses import error_response, json_response
from orchestrator.http.validation import (
    RouteLimits,
    ValidationError,
    check_request,
    decode_json,
)
from orchestrator.requests import RoutedRequest
from orchestrator.streaming.reader import UpstreamStream
from orchestrator.telemetry.logs import REQUEST_ID
from shared.anthropic_parsing import parse_messages_request
from shared.models import ChatRequest, FieldError, attempts_json, estimate_tokens

MESSAGES_PATH: Final = "/v1/messages"
COUNT_TOKENS_PATH: Final = "/v1/messages/count_tokens"
BETA_HEADER: Final = "anthropic-beta"


def parse_messages(body: bytes, request: web.Request) -> ChatRequest:
    try:
        return parse_messages_request(decode_json(body), request.headers.get(BETA_HEADER))
    except FieldError as exc:
        raise ValidationError(400, exc.message, exc.param, exc.code) from exc


@final
class AnthropicMessagesApi:
    __slots__ = ()

    def parse(self, body: bytes, request: web.Request, router: RouteLimits) -> ChatRequest:
        return check_request(parse_messages(body, request), router)

    def rejected(self, error: ValidationError, request_id: str) -> web.Response:
        body = anthropic_error_body(error.status, error.message, code=error.code, param=error.param)
        return error_response(error.status, body, request_id)

    def body_error(self, error: BodyError, request_id: str) -> web.Response:
        body = anthropic_error_body(error.status, error.message, code=error.code)
        response = error_response(error.status, body, request_id)
        if not error.reusable:
            response.force_close()
        return response

    def completion(self, result: Success, completion: Completion, request_id: str) -> web.Response:
        message_id = completion.upstream_id or f"msg_{request_id}"
        body = message_body(completion, result.deployment.model, message_id)
        for key, value in orchestrator_fields(result, request_id).items():
            body.setdefault(key, value)
        return json_response(body)

    def failure(self, result: Failure, request_id: str) -> web.Response:
        status = caller_status(result.status, result.code)
        error = anthropic_error_body(status, result.message, code=result.code, param=result.param)
        if result.provider_error is not None:
            error["error"]["provider_error"] = result.provider_error
        error["attempts"] = len(result.attempts)
        error["total_latency_ms"] = round(result.total_latency_s * 1000.0, 3)
        error["attempt_log"] = attempts_json(result.skipped + result.attempts)
        if result.route is not None:
            error["route"] = result.route.to_json()
        return error_response(status, error, request_id, retry_after_headers(result))

    def renderer(
        self, chat: RoutedRequest, result: Success, stream: UpstreamStream, request_id: str,
        created_s: int,
    ) -> AnthropicEventEncoder:  # fmt: skip
        return AnthropicEventEncoder(
            stream.upstream_id or f"msg_{request_id}",
            stream.upstream_model or result.deployment.model,
            chat.estimated_prompt_tokens(),
        )


MESSAGES_API: Final = AnthropicMessagesApi()
messages: Final = handler_for(MESSAGES_API)


async def count_tokens(request: web.Request) -> web.Response:
    """An estimate (4 characters a token, tools and images counted by their JSON), not the
    provider's tokenizer: enough to budget a context window, not to bill by."""
    request_id = REQUEST_ID.get() or request_id_from(request)
    app = request.app
    try:
        raw = await read_body(request, app[CONFIG_KEY].server)
    except BodyError as exc:
        return MESSAGES_API.body_error(exc, request_id)
    try:
        decoded = decode_json(raw)
        if isinstance(decoded, dict) and "max_tokens" not in decoded:
            decoded = {**decoded, "max_tokens": 1}  # count_tokens takes no max_tokens
        chat = parse_messages_request(decoded, request.headers.get(BETA_HEADER))
    except FieldError as exc:
        error = ValidationError(400, exc.message, exc.param, exc.code)
        return MESSAGES_API.rejected(error, request_id)
    except ValidationError as exc:
        return MESSAGES_API.rejected(exc, request_id)
    if app[ROUTER_KEY].route(chat.model) is None:
        error = ValidationError(404, f"model: {chat.model}", "model", "model_not_found")
        return MESSAGES_API.rejected(error, request_id)
    body: dict[str, Any] = {"input_tokens": estimated_input_tokens(chat), "estimated": True}
    return json_response(body)


IMAGE_TOKENS: Final = 1600
"""An image's estimate: about what Anthropic counts for one of ~1.15 megapixels, its
largest unscaled size (the bytes say little about it)."""


def estimated_input_tokens(chat: ChatRequest) -> int:
    """The text by the 4-characters rule, tool schemas and calls by their JSON, images flat."""
    tokens = chat.estimated_prompt_tokens()
    if chat.tools:
        tokens += estimate_tokens(orjson.dumps(chat.tools).decode())
    for message in chat.messages:
        if message.content.__class__ is list:
            for part in message.content or ():
                if part.get("type") == "image_url":
                    tokens += IMAGE_TOKENS
        if message.extra:
            tokens += estimate_tokens(orjson.dumps(message.extra).decode())
    return max(1, tokens)
