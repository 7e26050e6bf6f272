"""How long a provider asked us to wait: ``retry-after-ms`` or ``Retry-After``.

``retry-after-ms`` (milliseconds, sent by OpenAI and Azure) is preferred because it is
more precise; ``Retry-After`` is either delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
A value that cannot be parsed is ignored rather than guessed at, and a negative delay or
a date in the past means "now" (0 s): the provider is ready again.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from datetime import UTC
from email.utils import parsedate_to_datetime


def normalise_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Lower-case header names, so a plain ``dict`` reads like aiohttp's case-insensitive one.

    Only error answers go through here, so the small copy costs nothing on the hot path.
    """
    return {name.lower(): value for name, value in headers.items()}


def retry_after_s(headers: Mapping[str, str], now: Callable[[], float] = time.time) -> float | None:
    """The wait the provider asked for, in seconds, or None when it named none we can read.

    ``headers`` may be any mapping; names are matched case-insensitively. ``now`` returns
    the current Unix time and only matters for an HTTP-date.
    """
    lowered = normalise_headers(headers)
    millis = _parse_delay(lowered.get("retry-after-ms"))
    if millis is not None:
        return millis / 1000.0
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    seconds = _parse_delay(raw)
    if seconds is not None:
        return seconds
    return _parse_http_date_delay(raw, now)


def _parse_delay(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    return max(0.0, value)


def _parse_http_date_delay(raw: str, now: Callable[[], float]) -> float | None:
    try:
        when = parsedate_to_datetime(raw.strip())
    except (TypeError, ValueError, IndexError):
        return None
    # An HTTP-date is always GMT; a naive result means the zone was missing or "-0000".
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now())
