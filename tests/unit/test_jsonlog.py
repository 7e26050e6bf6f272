"""JSON lines through the standard logging path; flushes are batched, not lost."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from pythonjsonlogger.orjson import OrjsonFormatter

from shared.jsonlog import JsonLineHandler, configure_json_logging, log_fields

ORCHESTRATOR_FORMAT = "%(levelname)s %(name)s %(message)s %(request_id)s"
FIELDS: dict[str, object] = {
    "request_id": "req_1",
    "event": "access",
    "status": 200,
    "duration_ms": 1.5,
    "_private": "never shown",
}


class CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


@pytest.fixture
def installed() -> Iterator[tuple[JsonLineHandler, CountingStream]]:
    """A handler installed as configure_json_logging does, then the previous set-up back."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = CountingStream()
    handler = JsonLineHandler(stream, flush_interval_s=0.05)
    handler.setFormatter(
        OrjsonFormatter(ORCHESTRATOR_FORMAT, rename_fields={"levelname": "level", "name": "logger"})
    )
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    yield handler, stream
    root.handlers[:], level = saved
    root.setLevel(level)


def test_an_access_line_carries_its_fields_and_drops_private_ones(
    installed: tuple[JsonLineHandler, CountingStream],
) -> None:
    _, stream = installed
    logging.getLogger("orchestrator.access").info("request", extra=FIELDS)
    line = orjson.loads(stream.getvalue())
    assert (line["level"], line["logger"], line["message"]) == (
        "INFO",
        "orchestrator.access",
        "request",
    )
    assert (line["request_id"], line["event"], line["status"]) == ("req_1", "access", 200)
    assert "_private" not in line


def test_configured_logging_uses_python_json_logger_s_own_formatter() -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()
    try:
        configure_json_logging("INFO", ORCHESTRATOR_FORMAT, stream=stream)
        [handler] = root.handlers
        assert type(handler.formatter) is OrjsonFormatter
        logging.getLogger("test.jsonlog").warning("hello", extra={"event": "e"})
        line = orjson.loads(stream.getvalue())
        assert (line["level"], line["message"], line["event"]) == ("WARNING", "hello", "e")
        assert "timestamp" in line
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


def test_outside_an_event_loop_every_line_is_flushed(
    installed: tuple[JsonLineHandler, CountingStream],
) -> None:
    _, stream = installed
    logging.getLogger("test.jsonlog").info("one")
    logging.getLogger("test.jsonlog").info("two")
    assert stream.flushes == 2


async def test_in_an_event_loop_lines_are_flushed_together_and_errors_at_once(
    installed: tuple[JsonLineHandler, CountingStream],
) -> None:
    _, stream = installed
    logger = logging.getLogger("test.jsonlog")
    flushed = asyncio.Event()
    original_flush = stream.flush

    def flush_and_tell() -> None:
        original_flush()
        flushed.set()

    stream.flush = flush_and_tell  # type: ignore[method-assign]
    for n in range(5):
        logger.info("request", extra={**FIELDS, "n": n})
        logger.info("journey")
    assert stream.flushes == 0
    assert len(stream.getvalue().splitlines()) == 10  # written in order, only not flushed
    await flushed.wait()  # the scheduled flush, flush_interval_s later
    assert stream.flushes == 1
    logger.error("bad news")
    assert stream.flushes == 2


@pytest.mark.parametrize(
    "fields",
    [
        {k: v for k, v in FIELDS.items() if k != "_private"},
        FIELDS,
        {"event": "no request id"},
        {"request_id": None, "model": "gpt-4o", "provider": None, "attempts": 2},
    ],
)
def test_log_fields_writes_what_the_formatter_writes_for_the_same_record(
    fields: dict[str, object],
) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, JsonLineHandler.installed)
    stream = io.StringIO()
    try:
        configure_json_logging("INFO", ORCHESTRATOR_FORMAT, stream=stream)
        logger = logging.getLogger("orchestrator.access")
        log_fields(logger, "request", fields)
        [handler] = root.handlers
        assert handler.formatter is not None
        record = logger.makeRecord(
            logger.name, logging.INFO, "f.py", 1, "request", (), None, None, dict(fields)
        )
        expected = _without_timestamp(handler.formatter.format(record))
        got = _without_timestamp(stream.getvalue())
        assert list(got.items()) == list(expected.items())  # same fields, same order
        assert "timestamp" in orjson.loads(stream.getvalue())
    finally:
        root.handlers[:], level, JsonLineHandler.installed = saved
        root.setLevel(level)


def test_log_fields_takes_the_standard_path_when_another_handler_listens(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO):
        log_fields(logging.getLogger("orchestrator.access"), "request", FIELDS)
    assert [r.getMessage() for r in caplog.records] == ["request"]
    assert caplog.records[0].__dict__["status"] == 200


def _without_timestamp(line: str) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(line)
    data.pop("timestamp", None)
    return data
