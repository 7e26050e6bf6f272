"""The caller's own timeout, when it sends one, caps the request deadline just below it.

The official SDKs send theirs as ``x-stainless-timeout`` (seconds); other callers may send
``X-Request-Timeout`` (seconds, documented). Answering a little before the caller gives up
means it gets our clear 504 with the attempt log instead of timing out and retrying on
its own, on top of our retries.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

SDK_TIMEOUT_HEADER: Final = "x-stainless-timeout"
TIMEOUT_HEADER: Final = "X-Request-Timeout"
MIN_MARGIN_S: Final = 0.05
MAX_MARGIN_S: Final = 1.0
MARGIN_SHARE: Final = 0.05


class BadTimeoutHeader(ValueError):
    """``X-Request-Timeout`` is not a positive number of seconds."""


def caller_deadline_s(headers: Mapping[str, str]) -> float | None:
    """The deadline the caller's timeout leaves us, or None when it sent none.

    A malformed ``X-Request-Timeout`` raises :class:`BadTimeoutHeader` (it is ours to
    document); a malformed ``x-stainless-timeout`` is ignored (the SDK's, not the caller's).
    """
    ours = headers.get(TIMEOUT_HEADER)
    if ours is not None:
        seconds = _seconds(ours)
        if seconds is None:
            raise BadTimeoutHeader(f"{TIMEOUT_HEADER} must be a positive number of seconds")
        return _below(seconds)
    sdk = headers.get(SDK_TIMEOUT_HEADER)
    seconds = _seconds(sdk) if sdk is not None else None
    return _below(seconds) if seconds is not None else None


def _seconds(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


def _below(seconds: float) -> float:
    margin = min(MAX_MARGIN_S, max(MIN_MARGIN_S, seconds * MARGIN_SHARE))
    return max(seconds - margin, seconds / 2)
