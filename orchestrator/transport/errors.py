"""The one exception map at the transport edge: whatever an attempt raises becomes an
:class:`~orchestrator.decision.Outcome` (httpx's ``HTTPCORE_EXC_MAP`` is the model).

The attempt code catches everything but cancellation and asks :func:`outcome_of`; so a
transport, TLS, decoding or parsing failure, or an exception nobody foresaw, is a failed
attempt that the decision table, the breaker, logs and metrics all see. Only
``asyncio.CancelledError`` (the caller left) travels on as an exception.
"""

from __future__ import annotations

import logging
import zlib
from typing import Final

from orchestrator.decision import Outcome, OutcomeKind


class ProviderConnectionError(ConnectionError):
    """No usable HTTP answer: refused, reset, closed early, malformed or oversized."""


class UpstreamProtocolError(Exception):
    """The bytes arrived but are not the provider's shape: a body or event stream that
    cannot be parsed (the providers' and the SSE decoder's errors derive from it)."""


EXCEPTION_KINDS: Final[tuple[tuple[type[BaseException], OutcomeKind], ...]] = (
    # Order matters: the first matching base class wins (TimeoutError is an OSError).
    (TimeoutError, OutcomeKind.TIMEOUT),
    (UpstreamProtocolError, OutcomeKind.MALFORMED_RESPONSE),
    (zlib.error, OutcomeKind.MALFORMED_RESPONSE),
    (UnicodeError, OutcomeKind.MALFORMED_RESPONSE),
    (OSError, OutcomeKind.CONNECTION_ERROR),  # ssl.SSLError and ConnectionError included
)
"""Exception class -> outcome kind; anything else is :attr:`OutcomeKind.UNEXPECTED_ERROR`."""

_log: Final = logging.getLogger("orchestrator.transport")


def kind_of(exc: BaseException) -> OutcomeKind:
    for exception_type, kind in EXCEPTION_KINDS:
        if isinstance(exc, exception_type):
            return kind
    return OutcomeKind.UNEXPECTED_ERROR


def describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def outcome_of(
    exc: BaseException, latency_s: float, where: str, timeout_message: str | None = None
) -> Outcome:
    """The outcome of an attempt that raised ``exc`` after ``latency_s``; ``where`` names
    the deployment for the log line an unforeseen exception gets (with its traceback)."""
    kind = kind_of(exc)
    if kind is OutcomeKind.TIMEOUT and timeout_message is not None:
        return Outcome(kind, None, latency_s, message=timeout_message)
    if kind is OutcomeKind.UNEXPECTED_ERROR:
        _log.error(
            "unexpected_attempt_error",
            exc_info=exc,
            extra={"event": "unexpected_attempt_error", "deployment": where},
        )
    return Outcome(kind, None, latency_s, message=describe(exc))
