"""Anthropic's messages format: request checks, answers, errors and the stream's event sequence."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import orjson

from mock_provider.anthropic_frames import (
    anthropic_stream_frames,
    content_of,
    output_tokens,
    stop_reason,
)
from mock_provider.anthropic_tools import parse_tool_use
from mock_provider.dialect import (
    ChatCall,
    ProviderError,
    RateLimit,
    Reply,
    StreamFrames,
    masked_key,
    random_id,
)
from shared.anthropic_fields import field_required, wrong_type
from shared.models import FieldError, anthropic_error_body, estimate_tokens

PATH: Final = "/v1/messages"
CONTEXT_WINDOW_TOKENS: Final = 200_000
ROLES: Final = ("user", "assistant")
TEMPERATURE_RANGE: Final = (0.0, 1.0)
_BEARER: Final = "Bearer "

_SERVER_ERRORS: Final[Mapping[str, tuple[int, str, str]]] = {
    "500": (500, "api_error", "Internal server error"),
    "502": (502, "api_error", "Bad gateway"),
    "503": (503, "api_error", "Service unavailable"),
    "529": (529, "overloaded_error", "Overloaded"),
}


def _text_of_blocks(blocks: list[Any], param: str) -> str:
    """Check content blocks; return their text. Non-text blocks (images, tools) pass unread."""
    texts: list[str] = []
    for index, block in enumerate(blocks):
        block_param = f"{param}.{index}"
        if not isinstance(block, dict):
            raise wrong_type(block_param, "a valid dictionary", block)
        block_type = block.get("type")
        if block_type is None:
            raise field_required(f"{block_param}.type")
        if not isinstance(block_type, str):
            raise wrong_type(f"{block_param}.type", "a valid string", block_type)
        if block_type == "text":
            text = block.get("text")
            if not isinstance(text, str):
                raise (
                    field_required(f"{block_param}.text")
                    if text is None
                    else wrong_type(f"{block_param}.text", "a valid string", text)
                )
            texts.append(text)
        elif block_type == "tool_result":
            result = block.get("content")
            if result is not None:  # what the tool said is part of what the answer reads
                texts.append(_content_text(result, f"{block_param}.content"))
    return "".join(texts)


def _content_text(raw: object, param: str) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, list):
        return _text_of_blocks(raw, param)
    raise wrong_type(param, "a valid string or a list of content blocks", raw)


def _message_text(raw: object, index: int) -> str:
    param = f"messages.{index}"
    if not isinstance(raw, dict):
        raise wrong_type(param, "a valid dictionary", raw)
    role = raw.get("role")
    if role is None:
        raise field_required(f"{param}.role")
    if role not in ROLES:
        raise FieldError(f"{param}.role", f"{param}.role: Input should be 'user' or 'assistant'")
    if "content" not in raw:
        raise field_required(f"{param}.content")
    return _content_text(raw["content"], f"{param}.content")


def _required(body: Mapping[str, Any], name: str) -> Any:
    if body.get(name) is None:
        raise field_required(name)
    return body[name]


def _check_optional(body: Mapping[str, Any]) -> None:
    temperature = body.get("temperature")
    if temperature is not None:
        if isinstance(temperature, bool) or not isinstance(temperature, int | float):
            raise wrong_type("temperature", "a valid number", temperature)
        if not TEMPERATURE_RANGE[0] <= temperature <= TEMPERATURE_RANGE[1]:
            raise FieldError("temperature", "temperature: range: 0..1")
    stop = body.get("stop_sequences")
    if stop is not None and not (isinstance(stop, list) and all(isinstance(s, str) for s in stop)):
        raise wrong_type("stop_sequences", "a valid list of strings", stop)


def _parse_body(body: object) -> ChatCall:
    if not isinstance(body, dict):
        raise FieldError(None, "Request body must be a JSON object", "invalid_type")
    model = _required(body, "model")
    if not isinstance(model, str) or not model:
        raise wrong_type("model", "a non-empty string", model)
    max_tokens = _required(body, "max_tokens")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
        raise wrong_type("max_tokens", "a valid integer", max_tokens)
    if max_tokens < 1:
        raise FieldError("max_tokens", "max_tokens: Input should be greater than or equal to 1")
    messages = _required(body, "messages")
    if not isinstance(messages, list):
        raise wrong_type("messages", "a valid list", messages)
    if not messages:
        raise FieldError("messages", "messages: at least one message is required")
    texts = [_message_text(raw, index) for index, raw in enumerate(messages)]
    system = body.get("system")
    if system is not None:
        texts.insert(0, _content_text(system, "system"))
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise wrong_type("stream", "a valid boolean", stream)
    _check_optional(body)
    return ChatCall(
        model=model,
        prompt="\n".join(texts),
        prompt_tokens=sum(estimate_tokens(text) for text in texts),
        max_tokens=max_tokens,
        stream=stream,
        tool_use=parse_tool_use(body, messages),
    )


def _rate_limit_headers(rate: RateLimit) -> dict[str, str]:
    reset_at = datetime.now(UTC) + timedelta(seconds=rate.reset_s)
    headers = {
        "anthropic-ratelimit-requests-limit": str(rate.limit),
        "anthropic-ratelimit-requests-remaining": str(rate.remaining),
        "anthropic-ratelimit-requests-reset": reset_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if rate.retry_after_s is not None:
        headers["retry-after"] = str(rate.retry_after_s)
    if rate.retry_after_ms is not None:
        headers["retry-after-ms"] = str(rate.retry_after_ms)
    return headers


def _presented_key(headers: Mapping[str, str]) -> str:
    """The key from ``x-api-key``, or a bearer token: newer SDKs send the key that way."""
    key = headers.get("x-api-key", "").strip()
    if key:
        return key
    authorization = headers.get("Authorization", "")
    return authorization[len(_BEARER) :].strip() if authorization.startswith(_BEARER) else ""


class AnthropicDialect:
    provider: Final = "anthropic"

    def response_headers(self, request_headers: Mapping[str, str]) -> dict[str, str]:
        # Anthropic's request-id is its own, never the caller's.
        return {"request-id": random_id("req_")}

    def authenticate(
        self, request_headers: Mapping[str, str], key: str | None
    ) -> ProviderError | None:
        if key is None:
            return None
        given = _presented_key(request_headers)
        if not given:
            return ProviderError(401, "x-api-key header is required", "authentication_error")
        if hmac.compare_digest(given.encode(), key.encode()):
            return None
        return ProviderError(401, f"invalid x-api-key: {masked_key(given)}", "authentication_error")

    def parse_call(self, body: object) -> ChatCall:
        return _parse_body(body)

    def bad_request(self, param: str | None, message: str, code: str) -> ProviderError:
        return ProviderError(400, message, "invalid_request_error", param=param, code=code)

    def fault_error(self, kind: str, call: ChatCall, rate_limit: RateLimit) -> ProviderError:
        if kind.startswith("429"):
            return ProviderError(
                429,
                f"This request would exceed your organization's rate limit of "
                f"{rate_limit.limit} requests per minute. Please try again later.",
                "rate_limit_error",
                headers=_rate_limit_headers(rate_limit),
            )
        if kind == "context_length":
            tokens = max(call.prompt_tokens, CONTEXT_WINDOW_TOKENS + 1)
            return ProviderError(
                400,
                f"prompt is too long: {tokens} tokens > {CONTEXT_WINDOW_TOKENS} maximum",
                "invalid_request_error",
            )
        if kind == "content_policy":
            return ProviderError(
                400, "Output blocked by content filtering policy", "invalid_request_error"
            )
        status, error_type, message = _SERVER_ERRORS[kind]
        return ProviderError(status, message, error_type)

    def error_body(self, error: ProviderError) -> bytes:
        return orjson.dumps(anthropic_error_body(error.message, error.error_type))

    def new_message_id(self) -> str:
        return random_id("msg_01")

    @property
    def tool_id_prefix(self) -> str:
        return "toolu_01"

    def success_body(self, reply: Reply) -> bytes:
        call = reply.call
        usage = {"input_tokens": call.prompt_tokens, "output_tokens": output_tokens(reply)}
        return orjson.dumps(
            {
                "id": reply.message_id,
                "type": "message",
                "role": "assistant",
                "model": call.model,
                "content": content_of(reply),
                "stop_reason": stop_reason(reply),
                "stop_sequence": None,
                "usage": usage,
            }
        )

    def stream_frames(self, reply: Reply) -> StreamFrames:
        return anthropic_stream_frames(reply)
