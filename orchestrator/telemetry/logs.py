"""JSON logging with the request id on every line of a request.

The request id lives in a :class:`contextvars.ContextVar` set by the request-id middleware,
so every log line written while serving a request (the engine's journey, a breaker
transition it caused) carries it without threading it through every call.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Final

from shared.jsonlog import configure_json_logging

REQUEST_ID: Final[ContextVar[str | None]] = ContextVar("request_id", default=None)
CALLER: Final[ContextVar[str | None]] = ContextVar("caller", default=None)
"""The name of the caller key the request came with, when caller keys are on."""

JOURNEY_LOGGER: Final = "orchestrator.journey"
ACCESS_LOGGER: Final = "orchestrator.access"


class RequestIdFilter(logging.Filter):
    """Stamps each record with the request id of the request being served, if any."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


def configure_logging(level: str = "INFO") -> None:
    """One JSON line per record on stdout, each line of a request with its request id."""
    configure_json_logging(
        level,
        "%(levelname)s %(name)s %(message)s %(request_id)s",
        filters=(RequestIdFilter(),),
    )
