"""``POST /v1/embeddings``: OpenAI's embeddings API around the shared path.

Routed by the same table as chat (a route's deployments must declare the ``embeddings``
capability, which OpenAI-format ones have by default), retried and failed over by the same
engine, under the same breakers and deadline, with the same journeys. The answer is the
provider's ``list`` body whole, with our fields beside it as chat's have them.
"""

from __future__ import annotations

from typing import Final, final

from aiohttp import web

from orchestrator.answers import Completion
from orchestrator.engine import Failure, Success
from orchestrator.http.body import BodyError
from orchestrator.http.inbound import handler_for
from orchestrator.http.render import body_error, failure_response, orchestrator_fields
from orchestrator.http.responses import error_response, json_response
from orchestrator.http.validation import (
    RouteLimits,
    ValidationError,
    check_embedding_request,
    decode_json,
)
from orchestrator.requests import RoutedRequest
from orchestrator.streaming.reader import UpstreamStream
from orchestrator.streaming.relay import StreamRenderer
from shared.embeddings import parse_embedding_request
from shared.models import FieldError

EMBEDDINGS_PATH: Final = "/v1/embeddings"


@final
class EmbeddingsApi:
    __slots__ = ()

    def parse(self, body: bytes, request: web.Request, router: RouteLimits) -> RoutedRequest:
        try:
            parsed = parse_embedding_request(decode_json(body))
        except FieldError as exc:
            raise ValidationError(400, exc.message, exc.param, exc.code) from exc
        return check_embedding_request(parsed, router)

    def rejected(self, error: ValidationError, request_id: str) -> web.Response:
        return error_response(error.status, error.to_body(), request_id)

    def body_error(self, error: BodyError, request_id: str) -> web.Response:
        return body_error(error, request_id)

    def completion(self, result: Success, completion: Completion, request_id: str) -> web.Response:
        body = dict(completion.body or {})
        for key, value in orchestrator_fields(result, request_id).items():
            body.setdefault(key, value)
        return json_response(body)

    def failure(self, result: Failure, request_id: str) -> web.Response:
        return failure_response(result, request_id)

    def renderer(
        self, chat: RoutedRequest, result: Success, stream: UpstreamStream, request_id: str,
        created_s: int,
    ) -> StreamRenderer:  # fmt: skip
        raise TypeError("an embeddings request is never streamed")


embeddings: Final = handler_for(EmbeddingsApi())
