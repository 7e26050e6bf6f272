"""Fail-fast request checks, before any upstream call, each naming the field at fault.

``validate_chat_request`` parses the body with orjson and
:func:`shared.models.parse_chat_request` (shape, types, ranges), then checks what needs
the routing table: the model and every fallback are routable, the preferred provider is
configured, ``max_tokens`` fits the output limit and the estimated prompt fits the
context window. Every failure is a :class:`ValidationError` carrying the status and the
OpenAI ``param``/``code``, so the app answers with OpenAI's error body.

The body-size limit (413) is not checked here: the app enforces it before reading the
body (``client_max_size``), so an oversized body is never buffered in full.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

import orjson

from orchestrator.capabilities import Need
from orchestrator.http.nesting import MAX_NESTING_DEPTH, too_deep
from orchestrator.policies import STREAM_MODE_FIELD, STREAM_MODES
from orchestrator.requests import RoutedRequest
from shared.anthropic_parsing import ANTHROPIC_FIELDS
from shared.chat_parsing import parse_chat_request
from shared.embeddings import EmbeddingRequest
from shared.models import ChatRequest, FieldError, openai_error_body, shown

HTTP_BAD_REQUEST: Final = 400
HTTP_NOT_FOUND: Final = 404
JSON_PARSE_MESSAGE: Final = (
    "We could not parse the JSON body of your request. The orchestrator expects a JSON "
    "payload, but what was sent was not valid JSON"
)


class RouteLimits(Protocol):
    """What validation needs from the router (``orchestrator.router.Router`` provides it)."""

    def route(self, model: str) -> tuple[object, ...] | None: ...

    def output_limit(self, model: str) -> int: ...

    def context_limit(self, model: str) -> int: ...

    def provider_names(self) -> frozenset[str]: ...

    def unable(self, request: RoutedRequest) -> Need | None: ...


@dataclass
class ValidationError(Exception):
    """A request rejected before any upstream call; the fields map onto OpenAI's error body."""

    status: int  # 400, 404 (model not routable), 413 (body too large, raised by the app)
    message: str
    param: str | None  # "messages[0].role"
    code: str | None  # "model_not_found", "invalid_type", "context_length_exceeded", ...
    error_type: str = "invalid_request_error"

    def __post_init__(self) -> None:
        if self.param is not None:
            self.param = shown(self.param)  # a field name is the caller's text too

    def __str__(self) -> str:
        return self.message

    def to_body(self) -> dict[str, Any]:
        """OpenAI's ``{"error": {...}}`` body; the app adds the request id."""
        return openai_error_body(self.message, self.error_type, self.param, self.code)


def validate_chat_request(body: bytes, router: RouteLimits) -> ChatRequest:
    """Parse and check a chat request; raise :class:`ValidationError` at the first problem."""
    return check_request(_parse(body), router)


def check_request(request: ChatRequest, router: RouteLimits) -> ChatRequest:
    """What needs the routing table, for a chat request of either chat API already parsed."""
    _check_routing(request, router)
    if request.extra:
        _check_stream_mode(request.extra)
    _check_nesting(request)
    lacking = router.unable(request)
    if lacking is not None:
        raise _unsupported(lacking, request)
    if request.max_tokens is not None:
        _check_max_tokens(request.max_tokens, request, router)
    _check_context_length(request, router)
    return request


def check_embedding_request(request: EmbeddingRequest, router: RouteLimits) -> EmbeddingRequest:
    _check_routing(request, router)
    if request.extra:
        _raise_if_too_deep(list(request.extra.items()))
    lacking = router.unable(request)
    if lacking is not None:
        raise _unsupported(lacking, request)
    _check_context_length(request, router)
    return request


def _check_routing(request: RoutedRequest, router: RouteLimits) -> None:
    _check_routable(request, router)
    # Most requests set none of these, and skipping a check costs less than calling it.
    if request.preferred_provider is not None:
        _check_preferred_provider(request.preferred_provider, router)


def _check_nesting(request: ChatRequest) -> None:
    roots: list[tuple[str, Any]] = list(request.extra.items()) if request.extra else []
    if request.extra and ANTHROPIC_FIELDS in request.extra:
        # A Messages caller's own fields, named as it sent them.
        roots = [(k, v) for k, v in roots if k != ANTHROPIC_FIELDS]
        roots.extend(request.extra[ANTHROPIC_FIELDS].items())
    # The known fields whose values are schemas or free-form objects nest as deep as callers like.
    if request.tools:
        roots.append(("tools", list(request.tools)))
    if request.tool_choice.__class__ is dict:
        roots.append(("tool_choice", request.tool_choice))
    if request.response_format is not None:
        roots.append(("response_format", request.response_format))
    for index, message in enumerate(request.messages):
        if message.extra:
            roots.extend((f"messages[{index}].{k}", v) for k, v in message.extra.items())
        if message.content.__class__ is list:
            roots.append((f"messages[{index}].content", message.content))
    if roots:
        _raise_if_too_deep(roots)


def _raise_if_too_deep(roots: list[tuple[str, Any]]) -> None:
    path = too_deep(roots)
    if path is not None:
        raise ValidationError(
            HTTP_BAD_REQUEST,
            f"Invalid '{shown(path)}': values may nest at most {MAX_NESTING_DEPTH} levels deep.",
            path,
            "nesting_too_deep",
        )


def _unsupported(lacking: Need, request: RoutedRequest) -> ValidationError:
    """Never a silent downgrade: a request no deployment can honour is the caller's to change."""
    return ValidationError(
        HTTP_BAD_REQUEST,
        f"Invalid '{lacking.param}': {lacking.why} is not supported by any deployment "
        f"serving '{shown(request.model)}' (none declares the '{lacking.capability}' "
        "capability).",
        lacking.param,
        "unsupported_parameter",
    )


def _check_stream_mode(extra: Mapping[str, Any]) -> None:
    """``stream_mode`` (ours, not OpenAI's) picks relay or buffered streaming per request."""
    mode = extra.get(STREAM_MODE_FIELD)
    if mode is None:
        return
    if not isinstance(mode, str):
        raise ValidationError(
            HTTP_BAD_REQUEST,
            f"Invalid type for '{STREAM_MODE_FIELD}': expected a string, "
            f"but got {type(mode).__name__} instead.",
            STREAM_MODE_FIELD,
            "invalid_type",
        )
    if mode not in STREAM_MODES:
        allowed = "', '".join(sorted(STREAM_MODES))
        raise ValidationError(
            HTTP_BAD_REQUEST,
            f"Invalid '{STREAM_MODE_FIELD}': '{shown(mode)}'. Supported values are: '{allowed}'.",
            STREAM_MODE_FIELD,
            "invalid_value",
        )


def decode_json(body: bytes) -> object:
    """The body's JSON value; an empty or broken body is a 400 saying so."""
    if not body.strip():
        raise ValidationError(
            HTTP_BAD_REQUEST, f"{JSON_PARSE_MESSAGE}: the body is empty.", None, None
        )
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValidationError(
            HTTP_BAD_REQUEST, f"{JSON_PARSE_MESSAGE}: {exc}.", None, None
        ) from exc


def _parse(body: bytes) -> ChatRequest:
    decoded = decode_json(body)
    try:
        return parse_chat_request(decoded)
    except FieldError as exc:
        raise ValidationError(HTTP_BAD_REQUEST, exc.message, exc.param, exc.code) from exc


def _check_routable(request: RoutedRequest, router: RouteLimits) -> None:
    if router.route(request.model) is None:
        raise ValidationError(
            HTTP_NOT_FOUND,
            f"The model '{shown(request.model)}' does not exist or you do not have access to it.",
            "model",
            "model_not_found",
        )
    for index, fallback in enumerate(request.fallbacks):
        if router.route(fallback) is None:
            raise ValidationError(
                HTTP_BAD_REQUEST,
                f"Invalid 'fallbacks[{index}]': the model '{shown(fallback)}' does not exist "
                "or you do not have access to it.",
                f"fallbacks[{index}]",
                "model_not_found",
            )


def _check_preferred_provider(preferred: str, router: RouteLimits) -> None:
    configured = router.provider_names()
    if preferred not in configured:
        names = "', '".join(sorted(configured))
        raise ValidationError(
            HTTP_BAD_REQUEST,
            f"Invalid 'preferred_provider': '{shown(preferred)}' is not a configured provider. "
            f"Configured providers are: '{names}'.",
            "preferred_provider",
            "invalid_value",
        )


def _check_max_tokens(max_tokens: int, request: ChatRequest, router: RouteLimits) -> None:
    limit = _over_every_limit(max_tokens, request, router.output_limit)
    if limit is not None:
        raise ValidationError(
            HTTP_BAD_REQUEST,
            f"max_tokens is too large: {max_tokens}. This model supports at most "
            f"{limit} completion tokens, whereas you provided {max_tokens}.",
            "max_tokens",
            "invalid_value",
        )


def _check_context_length(request: RoutedRequest, router: RouteLimits) -> None:
    estimated = request.estimated_prompt_tokens()
    limit = _over_every_limit(estimated, request, router.context_limit)
    if limit is not None and isinstance(request, EmbeddingRequest):
        raise ValidationError(
            HTTP_BAD_REQUEST,
            f"This model's maximum input length is {limit} tokens. However, an input "
            f"resulted in about {estimated} tokens. Please reduce the length of the input.",
            "input",
            "context_length_exceeded",
        )
    if limit is not None:
        raise ValidationError(
            HTTP_BAD_REQUEST,
            f"This model's maximum context length is {limit} tokens. However, your messages "
            f"resulted in about {estimated} tokens. Please reduce the length of the messages.",
            "messages",
            "context_length_exceeded",
        )


def _over_every_limit(
    tokens: int, request: RoutedRequest, limit_of: Callable[[str], int]
) -> int | None:
    """The largest limit among the request's models when ``tokens`` exceeds them all."""
    if tokens <= limit_of(request.model):
        return None  # within the model's own limit, so within the largest of its fallbacks too
    limit = max(limit_of(model) for model in _served_by(request))
    return limit if tokens > limit else None


def _served_by(request: RoutedRequest) -> tuple[str, ...]:
    # The router may answer from any fallback model, so the largest limit among them counts.
    return (request.model, *request.fallbacks)
