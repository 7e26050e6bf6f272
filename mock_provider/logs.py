"""JSON log lines (python-json-logger): one per provider request, with the fault applied."""

from __future__ import annotations

import logging
import sys
from typing import Final, TextIO

from pythonjsonlogger.orjson import OrjsonFormatter

ACCESS_LOGGER: Final = "mock_provider.access"
CONTROL_LOGGER: Final = "mock_provider.control"
_FORMAT: Final = "%(levelname)s %(name)s %(message)s"


def configure_logging(level: str, stream: TextIO | None = None) -> None:
    """Send every record to ``stream`` (stdout) as one JSON object a line. Called once by main."""
    handler = logging.StreamHandler(stream or sys.stdout)
    # An ISO timestamp from the record is cheaper than asctime's strftime: this runs per request.
    handler.setFormatter(
        OrjsonFormatter(
            _FORMAT, rename_fields={"levelname": "level", "name": "logger"}, timestamp=True
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    # One line per request comes from the mock itself; aiohttp's access log would repeat it.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
