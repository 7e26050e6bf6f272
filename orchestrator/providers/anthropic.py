"""The Anthropic Messages wire format: our OpenAI-shaped request translated to it
(:mod:`.anthropic_requests`), its answers and stream events translated back
(:mod:`.anthropic_answers`, :mod:`.anthropic_stream`), and its errors classified.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final, final

import orjson

from orchestrator.answers import Completion
from orchestrator.decision import Outcome, OutcomeKind
from orchestrator.providers.anthropic_answers import parse_message
from orchestrator.providers.anthropic_requests import json_tool_name, request_body
from orchestrator.providers.anthropic_stream import AnthropicStreamTranslator
from orchestrator.providers.base import common_headers
from orchestrator.providers.errors import ProviderError, error_outcome, parse_error_body
from orchestrator.transport.base import UpstreamRequest
from shared.anthropic_parsing import ANTHROPIC_BETA
from shared.models import ChatRequest

if TYPE_CHECKING:
    from orchestrator.routing.router import Deployment

MESSAGES_PATH: Final = "/v1/messages"
ANTHROPIC_VERSION: Final = "2023-06-01"

CONTEXT_LENGTH_PHRASES: Final = ("prompt is too long",)
CONTENT_POLICY_PHRASES: Final = ("content filtering policy",)


@final
class AnthropicAdapter:
    __slots__ = ("_now",)

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now  # Unix time, for a Retry-After given as an HTTP-date

    @property
    def wire_format(self) -> str:
        return "anthropic"

    def build_request(
        self, request: ChatRequest, deployment: Deployment, request_id: str, attempt_number: int
    ) -> UpstreamRequest:
        headers = common_headers(request, request_id, attempt_number)
        headers["anthropic-version"] = ANTHROPIC_VERSION
        beta = request.extra.get(ANTHROPIC_BETA)
        if isinstance(beta, str):  # an Anthropic-API caller's own beta features
            headers["anthropic-beta"] = beta
        api_key = deployment.provider.api_key
        if api_key:
            headers["x-api-key"] = api_key
        return UpstreamRequest(
            url=deployment.provider.base_url.rstrip("/") + MESSAGES_PATH,
            headers=headers,
            body=orjson.dumps(request_body(request, deployment)),
        )

    def parse_success(self, body: bytes, request: ChatRequest) -> Completion:
        return parse_message(body, json_tool_name(request))

    def classify_error(self, status: int, headers: Mapping[str, str], body: bytes) -> Outcome:
        return error_outcome(status, headers, parse_error_body(body), _refine, self._now)

    def stream_translator(self, request: ChatRequest) -> AnthropicStreamTranslator:
        return AnthropicStreamTranslator(json_tool_name(request))


ANTHROPIC_ADAPTER: Final = AnthropicAdapter()


def _refine(error: ProviderError) -> OutcomeKind | None:
    message = (error.message or "").lower()
    if any(phrase in message for phrase in CONTEXT_LENGTH_PHRASES):
        return OutcomeKind.CONTEXT_LENGTH
    if any(phrase in message for phrase in CONTENT_POLICY_PHRASES):
        return OutcomeKind.CONTENT_POLICY
    return None
