"""``POST /v1/chat/completions``: the OpenAI chat-completions API around the shared path."""

from __future__ import annotations

from typing import Final, final

from aiohttp import web

from orchestrator.answers import Completion
from orchestrator.engine import Failure, Success
from orchestrator.http.body import BodyError
from orchestrator.http.inbound import handler_for
from orchestrator.http.openai_chunks import ChunkEncoder
from orchestrator.http.render import body_error, completion_response, failure_response
from orchestrator.http.responses import error_response
from orchestrator.http.validation import RouteLimits, ValidationError, validate_chat_request
from orchestrator.requests import RoutedRequest
from orchestrator.streaming.reader import UpstreamStream
from shared.models import ChatRequest

CHAT_PATH: Final = "/v1/chat/completions"


@final
class OpenAIChatApi:
    __slots__ = ()

    def parse(self, body: bytes, request: web.Request, router: RouteLimits) -> ChatRequest:
        return validate_chat_request(body, router)

    def rejected(self, error: ValidationError, request_id: str) -> web.Response:
        return error_response(error.status, error.to_body(), request_id)

    def body_error(self, error: BodyError, request_id: str) -> web.Response:
        return body_error(error, request_id)

    def completion(self, result: Success, completion: Completion, request_id: str) -> web.Response:
        return completion_response(result, completion, request_id)

    def failure(self, result: Failure, request_id: str) -> web.Response:
        return failure_response(result, request_id)

    def renderer(
        self, chat: RoutedRequest, result: Success, stream: UpstreamStream, request_id: str,
        created_s: int,
    ) -> ChunkEncoder:  # fmt: skip
        options = chat.stream_options if isinstance(chat, ChatRequest) else None
        include_usage = options is not None and options.include_usage
        return ChunkEncoder(
            stream.upstream_id or f"chatcmpl-{request_id}",
            created_s,
            stream.upstream_model or result.deployment.model,
            include_usage,
            stream.meta,
        )


chat_completions: Final = handler_for(OpenAIChatApi())
