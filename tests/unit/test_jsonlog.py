"""The per-request shortcut writes the formatter's exact line; flushes are batched, not lost."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from shared.jsonlog import JsonLineHandler, LeanOrjsonFormatter, log_fields

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
    saved = (root.handlers[:], root.level, JsonLineHandler.installed)
    stream = CountingStream()
    handler = JsonLineHandler(stream, flush_interval_s=0.05)
    handler.setFormatter(
        LeanOrjsonFormatter(
            ORCHESTRATOR_FORMAT, rename_fields={"levelname": "level", "name": "logger"}
        )
    )
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    JsonLineHandler.installed = handler
    yield handler, stream
    root.handlers[:], level, JsonLineHandler.installed = saved
    root.setLevel(level)


@pytest.mark.parametrize(
    "settings",
    [
        {"rename_fields": {"levelname": "level", "name": "logger"}, "timestamp": True},
        {
            "static_fields": {"service": "orchestrator"},
            "defaults": {"region": "local"},
            "rename_fields": {"region": "where", "event": "kind", "missing": "absent"},
            "rename_fields_keep_missing": True,
        },
    ],
)
@pytest.mark.parametrize(
    "fields",
    [
        {k: v for k, v in FIELDS.items() if k != "_private"},  # the remembered-layout path
        FIELDS,  # a field format() drops: the long way
        {"event": "no request id"},
    ],
)
def test_format_fields_is_what_format_writes_for_the_same_record(
    settings: dict[str, Any], fields: dict[str, object]
) -> None:
    formatter = LeanOrjsonFormatter(ORCHESTRATOR_FORMAT, **settings)
    logger = logging.getLogger("orchestrator.access")
    record = logger.makeRecord(
        logger.name, logging.INFO, "f.py", 1, "request", (), None, None, dict(fields)
    )
    expected = _without_timestamp(formatter.format(record))
    for _ in range(2):  # the second time from the remembered layout
        got = _without_timestamp(formatter.format_fields("INFO", logger.name, "request", fields))
        assert list(got.items()) == list(expected.items())  # same fields, same order


def _without_timestamp(line: str) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(line)
    data.pop("timestamp", None)
    data.pop("ts", None)
    return data


def test_log_fields_writes_through_the_installed_handler(
    installed: tuple[JsonLineHandler, CountingStream],
) -> None:
    _, stream = installed
    log_fields(logging.getLogger("orchestrator.access"), "request", FIELDS)
    line = orjson.loads(stream.getvalue())
    assert line["request_id"] == "req_1"
    assert line["event"] == "access"
    assert "_private" not in line


def test_log_fields_respects_the_logger_level(
    installed: tuple[JsonLineHandler, CountingStream],
) -> None:
    _, stream = installed
    quiet = logging.getLogger("test.jsonlog.quiet")
    quiet.setLevel(logging.WARNING)
    try:
        log_fields(quiet, "request", FIELDS)
    finally:
        quiet.setLevel(logging.NOTSET)
    assert stream.getvalue() == ""


def test_log_fields_takes_the_standard_path_when_another_handler_listens(
    installed: tuple[JsonLineHandler, CountingStream], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        log_fields(logging.getLogger("orchestrator.access"), "request", FIELDS)
    assert [r.getMessage() for r in caplog.records] == ["request"]
    assert caplog.records[0].__dict__["status"] == 200


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
        log_fields(logger, "request", {**FIELDS, "n": n})
        logger.info("journey")
    assert stream.flushes == 0
    assert len(stream.getvalue().splitlines()) == 10  # written in order, only not flushed
    await flushed.wait()  # the scheduled flush, flush_interval_s later
    assert stream.flushes == 1
    logger.error("bad news")
    assert stream.flushes == 2
