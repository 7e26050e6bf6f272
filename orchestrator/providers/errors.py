"""Shared pieces of error classification: status -> outcome kind as data, and error bodies.

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

from orchestrator.policy import Outcome, OutcomeKind
from orchestrator.providers.retry_after import retry_after_s

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
    if not isinstance(detail, dict):
        detail = data
    return ProviderError(
        message=_text_or_none(detail.get("message")),
        error_type=_text_or_none(detail.get("type")),
        code=_text_or_none(detail.get("code")),
    )


def error_outcome(
    status: int,
    headers: Mapping[str, str],
    error: ProviderError,
    refine_client_error: Callable[[ProviderError], OutcomeKind | None],
    now: Callable[[], float] = time.time,
) -> Outcome:
    """The outcome of a non-2xx answer.

    ``refine_client_error`` is the format's way of recognising a context-length or
    content-policy rejection inside a generic client error; None keeps CLIENT_ERROR.
    """
    kind = kind_for_status(status)
    if kind is OutcomeKind.CLIENT_ERROR:
        kind = refine_client_error(error) or kind
    return Outcome(
        kind=kind,
        status=status,
        retry_after_s=retry_after_s(headers, now),
        message=error.message,
        error_type=error.error_type or error.code,
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
