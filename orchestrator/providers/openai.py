"""The OpenAI chat-completions wire format: our request is already in it, so mostly re-serialise.

The caller's request goes upstream as sent (messages with their extra fields such as
``tool_calls``, unknown top-level fields too), except that ``model`` becomes the
deployment's model, ``max_tokens`` is capped at the deployment's output limit (so a
failover to a smaller deployment answers, shorter, instead of failing with a 400), and
the orchestrator-only fields ``preferred_provider`` and ``fallbacks`` never leave us.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, final

import orjson

from orchestrator.answers import Completion
from orchestrator.decision import Outcome, OutcomeKind
from orchestrator.providers.base import (
    MalformedResponse,
    common_headers,
    load_json_object,
    token_count,
    usage_details,
)
from orchestrator.providers.errors import ProviderError, error_outcome, parse_error_body
from orchestrator.providers.openai_stream import OpenAIStreamTranslator
from orchestrator.transport.base import UpstreamRequest
from shared.anthropic_parsing import ANTHROPIC_BETA, ANTHROPIC_FIELDS
from shared.models import ChatMessage, ChatRequest, Usage

if TYPE_CHECKING:
    from orchestrator.routing.router import Deployment

CHAT_COMPLETIONS_PATH: Final = "/v1/chat/completions"
ORCHESTRATOR_ONLY_FIELDS: Final = frozenset({"stream_mode", ANTHROPIC_FIELDS, ANTHROPIC_BETA})
"""Orchestrator request fields that ride in ``extra`` but must never go upstream."""
CONTEXT_LENGTH_CODES: Final = frozenset({"context_length_exceeded"})
# "content_filter" is what Azure OpenAI answers with.
CONTENT_POLICY_CODES: Final = frozenset({"content_policy_violation", "content_filter"})


@final
class OpenAIAdapter:
    __slots__ = ("_now",)

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now  # Unix time, for a Retry-After given as an HTTP-date

    @property
    def wire_format(self) -> str:
        return "openai"

    def build_request(
        self, request: ChatRequest, deployment: Deployment, request_id: str, attempt_number: int
    ) -> UpstreamRequest:
        headers = common_headers(request, request_id, attempt_number)
        api_key = deployment.provider.api_key
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        return UpstreamRequest(
            url=deployment.provider.base_url.rstrip("/") + CHAT_COMPLETIONS_PATH,
            headers=headers,
            body=orjson.dumps(request_body(request, deployment)),
        )

    def parse_success(self, body: bytes, request: ChatRequest) -> Completion:
        return parse_chat_completion(body)

    def classify_error(self, status: int, headers: Mapping[str, str], body: bytes) -> Outcome:
        return error_outcome(status, headers, parse_error_body(body), _refine, self._now)

    def stream_translator(self, request: ChatRequest) -> OpenAIStreamTranslator:
        return OpenAIStreamTranslator()


OPENAI_ADAPTER: Final = OpenAIAdapter()


def request_body(request: ChatRequest, deployment: Deployment) -> dict[str, Any]:
    """The upstream JSON body: the caller's fields, retargeted at ``deployment``."""
    body: dict[str, Any] = {
        k: v for k, v in request.extra.items() if k not in ORCHESTRATOR_ONLY_FIELDS
    }
    body["model"] = deployment.model
    body["messages"] = [message_json(m) for m in request.messages]
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.top_p is not None:
        body["top_p"] = request.top_p
    if request.max_tokens is not None:
        body["max_tokens"] = min(request.max_tokens, deployment.max_output_tokens)
    if request.stop:
        body["stop"] = list(request.stop)
    _agent_fields(request, body)
    if request.stream:
        body["stream"] = True
        # Always asked for, so the journey and metrics know the usage of every stream; the
        # client only gets the usage chunk when it asked for it.
        body["stream_options"] = {"include_usage": True}
    elif request.stream_options is not None:
        body["stream_options"] = {"include_usage": request.stream_options.include_usage}
    return body


def _agent_fields(request: ChatRequest, body: dict[str, Any]) -> None:
    """The tool and structured-output fields, as the caller sent them."""
    if request.n != 1:
        body["n"] = request.n
    if request.tools:
        body["tools"] = request.tools
    if request.tool_choice is not None:
        body["tool_choice"] = request.tool_choice
    if request.parallel_tool_calls is not None:
        body["parallel_tool_calls"] = request.parallel_tool_calls
    if request.response_format is not None:
        body["response_format"] = request.response_format
    if request.logprobs:
        body["logprobs"] = True


def message_json(message: ChatMessage) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.name is not None:
        out["name"] = message.name
    out.update(message.extra)
    return out


def parse_chat_completion(body: bytes) -> Completion:
    """The provider's body, kept whole, with its first choice summarised."""
    data = load_json_object(body)
    if data.get("object") != "chat.completion":
        raise MalformedResponse(f"expected object 'chat.completion', got {data.get('object')!r}")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise MalformedResponse("'choices' is not a non-empty array of objects")
    choice = choices[0]
    message = choice.get("message")
    if not isinstance(message, dict):
        raise MalformedResponse("'choices[0].message' is not an object")
    finish_reason = choice.get("finish_reason") or "stop"
    if not isinstance(finish_reason, str):
        raise MalformedResponse("'choices[0].finish_reason' is not a string")
    upstream_id = data.get("id")
    return Completion(
        content=_message_content(message),
        finish_reason=finish_reason,
        usage=usage_of(data.get("usage")),
        upstream_id=upstream_id if isinstance(upstream_id, str) else None,
        body=data,
    )


def _message_content(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    if content is None:
        # A refusal arrives with null content and the reason in its own field.
        content = message.get("refusal") or ""
    if not isinstance(content, str):
        raise MalformedResponse("'choices[0].message.content' is not a string")
    return content


def usage_of(raw: object) -> Usage:
    """OpenAI's ``usage``: the counts, and the details beside them passed on as they came."""
    # Some OpenAI-compatible servers omit usage; an absent count is not a broken answer.
    if raw is None:
        return Usage(prompt_tokens=0, completion_tokens=0)
    if not isinstance(raw, dict):
        raise MalformedResponse("'usage' is not an object")
    return Usage(
        prompt_tokens=token_count(raw, "prompt_tokens", "usage"),
        completion_tokens=token_count(raw, "completion_tokens", "usage"),
        details=usage_details(raw),
    )


def _refine(error: ProviderError) -> OutcomeKind | None:
    if error.code in CONTEXT_LENGTH_CODES:
        return OutcomeKind.CONTEXT_LENGTH
    if error.code in CONTENT_POLICY_CODES:
        return OutcomeKind.CONTENT_POLICY
    return None
