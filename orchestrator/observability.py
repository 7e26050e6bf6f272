"""JSON logging with the request id on every line of a request.

The request id lives in a :class:`contextvars.ContextVar` set by the request-id middleware,
so every log line written while serving a request (the engine's journey, a breaker
transition it caused) carries it without threading it through every call.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from typing import Final

from pythonjsonlogger.orjson import OrjsonFormatter

REQUEST_ID: Final[ContextVar[str | None]] = ContextVar("request_id", default=None)

JOURNEY_LOGGER: Final = "orchestrator.journey"
ACCESS_LOGGER: Final = "orchestrator.access"


class RequestIdFilter(logging.Filter):
    """Stamps each record with the request id of the request being served, if any."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


def configure_logging(level: str = "INFO") -> None:
    """One JSON line per record on stdout (what Compose and log shippers expect)."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        # The record's own ISO timestamp is cheaper than asctime's strftime (this runs per
        # log line); field names match the mock provider's, so one query reads both.
        OrjsonFormatter(
            "%(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp=True,
        )
    )
    handler.addFilter(RequestIdFilter())
    # Per-record work nobody reads: thread and process names, and the caller's file and line
    # (a stack walk per record). The logging HOWTO's "Optimization" section lists these.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiohttp's own access log is replaced by ours (JSON, with the request id).
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
