"""JSON log lines (python-json-logger): one per provider request, with the fault applied."""

from __future__ import annotations

from typing import Final, TextIO

from shared.jsonlog import configure_json_logging

ACCESS_LOGGER: Final = "mock_provider.access"
CONTROL_LOGGER: Final = "mock_provider.control"


def configure_logging(level: str, stream: TextIO | None = None) -> None:
    """Send every record to ``stream`` (stdout) as one JSON object a line. Called once by main."""
    configure_json_logging(level, "%(levelname)s %(name)s %(message)s", stream=stream)
