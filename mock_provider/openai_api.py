"""OpenAI's chat-completions format: request checks, answers, errors and stream chunks."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any, Final

import orjson

from mock_provider.dialect import (
    ChatCall,
    ProviderError,
    RateLimit,
    Reply,
    StreamFrames,
    masked_key,
    random_id,
)
from mock_provider.openai_frames import (
    SYSTEM_FINGERPRINT,
    completion_tokens,
    openai_stream_frames,
    openai_tool_use,
)
from mock_provider.openai_frames import (
    choice_json as _choice,
)
from mock_provider.openai_frames import (
    usage_json as _usage,
)
from shared.chat_parsing import parse_chat_request
from shared.models import openai_error_body

PATH: Final = "/v1/chat/completions"
CONTEXT_WINDOW_TOKENS: Final = 8192
_BEARER: Final = "Bearer "

_MISSING_KEY: Final = (
    "You didn't provide an API key. You need to provide your API key in an Authorization "
    "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
)
_SERVER_ERRORS: Final[Mapping[str, tuple[int, str]]] = {
    "500": (500, "The server had an error while processing your request. Sorry about that!"),
    "502": (502, "Bad gateway."),
    "503": (503, "The server is overloaded or not ready yet."),
    # OpenAI itself never sends 529; the mock does when told, in OpenAI's error shape.
    "529": (529, "The engine is currently overloaded, please try again later."),
}
_CONTENT_POLICY: Final = (
    "Your request was rejected as a result of our safety system. Your prompt may contain "
    "text that is not allowed by our safety system."
)


def _format_duration(seconds: float) -> str:
    """OpenAI's ``x-ratelimit-reset-*`` style: ``1s``, ``6m0s``, ``250ms``."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    minutes, rest = divmod(seconds, 60)
    rest_text = f"{rest:g}s"
    return f"{int(minutes)}m{rest_text}" if minutes else rest_text


def _rate_limit_headers(rate: RateLimit) -> dict[str, str]:
    headers = {
        "x-ratelimit-limit-requests": str(rate.limit),
        "x-ratelimit-remaining-requests": str(rate.remaining),
        "x-ratelimit-reset-requests": _format_duration(rate.reset_s),
        "x-ratelimit-limit-tokens": "200000",
        "x-ratelimit-remaining-tokens": "200000",
        "x-ratelimit-reset-tokens": "0s",
    }
    if rate.retry_after_s is not None:
        headers["retry-after"] = str(rate.retry_after_s)
    if rate.retry_after_ms is not None:
        headers["retry-after-ms"] = str(rate.retry_after_ms)
    return headers


def _sse(payload: Mapping[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"


class OpenAIDialect:
    provider: Final = "openai"

    def response_headers(self, request_headers: Mapping[str, str]) -> dict[str, str]:
        # OpenAI generates its own id; the mock echoes the caller's so journeys line up.
        return {"x-request-id": request_headers.get("X-Request-ID") or random_id("req_")}

    def authenticate(
        self, request_headers: Mapping[str, str], key: str | None
    ) -> ProviderError | None:
        if key is None:
            return None
        header = request_headers.get("Authorization", "")
        if not header.startswith(_BEARER) or not header[len(_BEARER) :].strip():
            return ProviderError(401, _MISSING_KEY, "invalid_request_error")
        given = header[len(_BEARER) :].strip()
        if hmac.compare_digest(given.encode(), key.encode()):
            return None
        return ProviderError(
            401,
            f"Incorrect API key provided: {masked_key(given)}. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            "invalid_request_error",
            code="invalid_api_key",
        )

    @property
    def tool_id_prefix(self) -> str:
        return "call_"

    def parse_call(self, body: object) -> ChatCall:
        request = parse_chat_request(body)
        response_format = request.response_format or {}
        kind = response_format.get("type")
        schema = (
            response_format.get("json_schema", {}).get("schema") if kind == "json_schema" else None
        )
        return ChatCall(
            model=request.model,
            prompt=request.prompt_text,
            prompt_tokens=request.estimated_prompt_tokens(),
            max_tokens=request.max_tokens,
            stream=request.stream,
            include_usage=request.stream_options is not None
            and request.stream_options.include_usage,
            tool_use=openai_tool_use(request),
            choices=request.n,
            json_mode=kind == "json_object",
            json_schema=schema if kind == "json_schema" else None,
        )

    def bad_request(self, param: str | None, message: str, code: str) -> ProviderError:
        return ProviderError(400, message, "invalid_request_error", param=param, code=code)

    def fault_error(self, kind: str, call: ChatCall, rate_limit: RateLimit) -> ProviderError:
        if kind.startswith("429"):
            return ProviderError(
                429,
                f"Rate limit reached for requests on {call.model}: Limit {rate_limit.limit}, "
                f"Used {rate_limit.limit}, Requested 1. Please try again in "
                f"{_format_duration(rate_limit.reset_s)}.",
                "requests",
                code="rate_limit_exceeded",
                headers=_rate_limit_headers(rate_limit),
            )
        if kind == "context_length":
            tokens = max(call.prompt_tokens, CONTEXT_WINDOW_TOKENS + 1)
            return ProviderError(
                400,
                f"This model's maximum context length is {CONTEXT_WINDOW_TOKENS} tokens. "
                f"However, your messages resulted in {tokens} tokens. "
                "Please reduce the length of the messages.",
                "invalid_request_error",
                param="messages",
                code="context_length_exceeded",
            )
        if kind == "content_policy":
            return ProviderError(
                400, _CONTENT_POLICY, "invalid_request_error", code="content_policy_violation"
            )
        status, message = _SERVER_ERRORS[kind]
        return ProviderError(status, message, "server_error")

    def error_body(self, error: ProviderError) -> bytes:
        return orjson.dumps(
            openai_error_body(error.message, error.error_type, error.param, error.code)
        )

    def new_message_id(self) -> str:
        return random_id("chatcmpl-")

    def success_body(self, reply: Reply) -> bytes:
        call = reply.call
        answers = (reply.answer, *reply.more_answers)
        choices = [_choice(reply, index, answer) for index, answer in enumerate(answers)]
        return orjson.dumps(
            {
                "id": reply.message_id,
                "object": "chat.completion",
                "created": reply.created,
                "model": call.model,
                "choices": choices,
                "usage": _usage(call.prompt_tokens, completion_tokens(reply)),
                "system_fingerprint": SYSTEM_FINGERPRINT,
                "service_tier": "default",
            }
        )

    def stream_frames(self, reply: Reply) -> StreamFrames:
        return openai_stream_frames(reply)
