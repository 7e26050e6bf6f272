"""Error classification, the one place for both wire formats and both paths.

An error reaches us either as a non-2xx answer (classified by its status, as data) or as
an error event inside a 200 stream (classified by its error type or code, as data).
OpenAI (``{"error": {"message", "type", "code"}}``) and Anthropic
(``{"type": "error", "error": {"type", "message"}}``) nest the detail the same way, so one
tolerant parser reads both; each adapter only adds its own way of spotting a
context-length or content-policy rejection among the generic client errors.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

import orjson

from orchestrator.answers import UpstreamError
from orchestrator.decision import Outcome, OutcomeKind
from orchestrator.providers.retry_after import retry_after_s

Refine = Callable[["ProviderError"], OutcomeKind | None]

STATUS_KINDS: Final[Mapping[int, OutcomeKind]] = MappingProxyType(
    {
        401: OutcomeKind.AUTH_ERROR,
        403: OutcomeKind.AUTH_ERROR,
        408: OutcomeKind.TIMEOUT,
        429: OutcomeKind.RATE_LIMITED,
        529: OutcomeKind.OVERLOADED,
    }
)
"""Statuses with a meaning of their own; other 4xx are client errors, other 5xx server errors."""

ERROR_TYPE_KINDS: Final[Mapping[str, OutcomeKind]] = MappingProxyType(
    {
        "overloaded_error": OutcomeKind.OVERLOADED,
        "rate_limit_error": OutcomeKind.RATE_LIMITED,
        "rate_limit_exceeded": OutcomeKind.RATE_LIMITED,
        "requests": OutcomeKind.RATE_LIMITED,
        "tokens": OutcomeKind.RATE_LIMITED,
        "api_error": OutcomeKind.SERVER_ERROR,
        "server_error": OutcomeKind.SERVER_ERROR,
        "timeout_error": OutcomeKind.TIMEOUT,
        "authentication_error": OutcomeKind.AUTH_ERROR,
        "permission_error": OutcomeKind.AUTH_ERROR,
        "invalid_request_error": OutcomeKind.CLIENT_ERROR,
        "not_found_error": OutcomeKind.CLIENT_ERROR,
        "context_length_exceeded": OutcomeKind.CONTEXT_LENGTH,
        "content_policy_violation": OutcomeKind.CONTENT_POLICY,
    }
)
"""An in-stream error's type (or code) -> outcome kind; anything unknown is a server error."""

MAX_RAW_MESSAGE_CHARS: Final = 200
"""How much of a non-JSON error body (an HTML page from a proxy) is kept as the message."""


@dataclass(frozen=True, slots=True)
class ProviderError:
    """The detail a provider put in its error body; every field may be absent."""

    message: str | None = None
    error_type: str | None = None
    code: str | None = None


def kind_for_status(status: int) -> OutcomeKind:
    known = STATUS_KINDS.get(status)
    if known is not None:
        return known
    if 500 <= status <= 599:
        return OutcomeKind.SERVER_ERROR
    if 400 <= status <= 499:
        return OutcomeKind.CLIENT_ERROR
    # A 1xx/3xx reaching the adapter is not an answer in the provider's shape at all.
    return OutcomeKind.MALFORMED_RESPONSE


def kind_for_error_type(error: ProviderError) -> OutcomeKind:
    """An in-stream error's kind: its code first, then its type; unknown: a server error."""
    for name in (error.code, error.error_type):
        kind = ERROR_TYPE_KINDS.get(name) if name is not None else None
        if kind is not None:
            return kind
    return OutcomeKind.SERVER_ERROR


def classify(status: int | None, error: ProviderError, refine: Refine | None) -> OutcomeKind:
    """The outcome kind of an error answer (``status``) or an in-stream error (None)."""
    kind = kind_for_status(status) if status is not None else kind_for_error_type(error)
    if kind is OutcomeKind.CLIENT_ERROR and refine is not None:
        kind = refine(error) or kind
    return kind


def parse_error_body(body: bytes) -> ProviderError:
    """Read either format's error body; a body that is not JSON becomes a short message."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ProviderError(message=_raw_message(body))
    if not isinstance(data, dict):
        return ProviderError(message=_raw_message(body))
    detail = data.get("error")
    if isinstance(detail, str):
        return ProviderError(message=detail)
    return parse_error_detail(detail if isinstance(detail, dict) else data)


def parse_error_detail(detail: Mapping[str, Any]) -> ProviderError:
    """The ``error`` object of either format (in a body or an error event)."""
    return ProviderError(
        message=_text_or_none(detail.get("message")),
        error_type=_text_or_none(detail.get("type")),
        code=_text_or_none(detail.get("code")),
    )


def error_outcome(
    status: int,
    headers: Mapping[str, str],
    error: ProviderError,
    refine_client_error: Refine,
    now: Callable[[], float] = time.time,
) -> Outcome:
    """The outcome of a non-2xx answer.

    ``refine_client_error`` is the format's way of recognising a context-length or
    content-policy rejection inside a generic client error; None keeps CLIENT_ERROR.
    """
    return Outcome(
        kind=classify(status, error, refine_client_error),
        status=status,
        retry_after_s=retry_after_s(headers, now),
        message=error.message,
        error_type=error.error_type or error.code,
    )


def stream_error(detail: object) -> UpstreamError:
    """An error event's ``error`` object (either format) as an :class:`UpstreamError`."""
    if not isinstance(detail, dict):
        return UpstreamError(OutcomeKind.SERVER_ERROR, str(detail))
    error = parse_error_detail(detail)
    return UpstreamError(
        classify(None, error, None),
        error.message or "the provider reported an error mid-stream",
        error.error_type,
    )


def _text_or_none(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _raw_message(body: bytes) -> str | None:
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        return None
    return text[:MAX_RAW_MESSAGE_CHARS]
