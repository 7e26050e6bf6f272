"""The lean JSON formatter writes exactly what python-json-logger's own would."""

from __future__ import annotations

import logging
import sys
from typing import Any

import pytest
from pythonjsonlogger.orjson import OrjsonFormatter

from shared.jsonlog import LeanOrjsonFormatter

SETTINGS: list[dict[str, Any]] = [
    # The orchestrator's own settings.
    {
        "fmt": "%(levelname)s %(name)s %(message)s %(request_id)s",
        "rename_fields": {"levelname": "level", "name": "logger"},
        "timestamp": True,
    },
    {
        "fmt": "%(levelname)s %(message)s",
        "static_fields": {"service": "orchestrator"},
        "defaults": {"region": "local"},
        "rename_fields": {"region": "where", "event": "kind", "missing": "absent"},
        "rename_fields_keep_missing": True,
        "timestamp": "ts",
    },
    {},
]


def _records() -> list[logging.LogRecord]:
    logger = logging.getLogger("test.observability")
    extra: dict[Any, Any] = {"event": "access", "status": 200, "_private": 1, 3: "numeric key"}
    try:
        raise ZeroDivisionError("boom")
    except ZeroDivisionError:
        exc_info = sys.exc_info()
    return [
        logger.makeRecord(
            logger.name, logging.INFO, "f.py", 1, "hello %s", ("you",), None, None, extra
        ),
        logger.makeRecord(
            logger.name,
            logging.ERROR,
            "f.py",
            2,
            "failed",
            (),
            exc_info,
            None,
            {"request_id": "r1"},
        ),
        logger.makeRecord(
            logger.name, logging.INFO, "f.py", 3, {"event": "dict message", "n": 2}, (), None, None
        ),
    ]


@pytest.mark.parametrize("settings", SETTINGS)
def test_lean_formatter_output_matches_python_json_logger_byte_for_byte(
    settings: dict[str, Any],
) -> None:
    reference, lean = OrjsonFormatter(**settings), LeanOrjsonFormatter(**settings)
    for record in _records():
        assert lean.format(record) == reference.format(record)
