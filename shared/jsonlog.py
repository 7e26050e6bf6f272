"""JSON log lines both services write: python-json-logger, one object a line on stdout.

Every record goes through the standard ``logging`` machinery and python-json-logger's
public ``OrjsonFormatter``. Two costs matter on a service that logs a line per request:

- the machinery (record, filters, caller lookup, formatter) is 10-20 µs a line, about a
  tenth of a request's CPU in ``make bench``; :func:`log_fields` writes the one line every
  request writes (the access line) in a few µs, as a dict in the layout that
  :func:`configure_json_logging` itself chose (so it needs no formatter internals; a test
  holds it to ``format()``'s output field for field);
- a flush per line is a system call per line: :class:`JsonLineHandler` flushes at most
  every ``flush_interval_s`` (at once for warnings and errors, and at exit), through a
  stdout buffer of its own.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import ClassVar, Final, TextIO

import orjson
from pythonjsonlogger.orjson import OrjsonFormatter

DEFAULT_FLUSH_INTERVAL_S: Final = 0.1
_STDOUT_BUFFER_BYTES: Final = 64 * 1024
RENAMED: Final = {"levelname": "level", "name": "logger"}
_FORMAT_FIELD: Final = re.compile(r"%\((\w+)\)")


class JsonLineHandler(logging.StreamHandler[TextIO]):
    """A stream handler that flushes within ``flush_interval_s`` instead of after every line.

    Lines are written in order as they come; only the system call is batched. A warning or
    an error is flushed at once (it may be the last thing the process says), and
    ``logging.shutdown`` flushes at exit. Outside a running event loop every line is
    flushed, as the standard handler does.
    """

    # The one configure_json_logging installed, and its line layout: what log_fields uses.
    installed: ClassVar[tuple[JsonLineHandler, tuple[str, ...]] | None] = None

    def __init__(self, stream: TextIO, flush_interval_s: float = DEFAULT_FLUSH_INTERVAL_S):
        super().__init__(stream)
        self.flush_interval_s = flush_interval_s
        self._flush_pending = False

    def write_line(self, line: str, level: int) -> None:
        self.acquire()
        try:
            self.stream.write(line + self.terminator)
            self._written(level)
        finally:
            self.release()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record) + self.terminator)
            self._written(record.levelno)
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def _written(self, level: int) -> None:
        if level >= logging.WARNING or self.flush_interval_s <= 0:
            self.flush()
            return
        if self._flush_pending:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self._flush_pending = True
        loop.call_later(self.flush_interval_s, self._scheduled_flush)

    def _scheduled_flush(self) -> None:
        self._flush_pending = False
        self.flush()

    def flush(self) -> None:
        self._flush_pending = False
        super().flush()


class ConciseBadRequests(logging.Filter):
    """aiohttp logs a malformed HTTP request (a client's fault) as an ERROR with the parser's
    traceback; this turns it into one WARNING line that says what was wrong."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        # A body that cannot be decoded is re-raised when aiohttp drains what the handler
        # left unread; the parser's 400 error is then its cause.
        if exc is not None and getattr(exc, "code", None) != 400:
            exc = exc.__cause__
        if exc is None or getattr(exc, "code", None) != 400:
            return True
        reason = str(getattr(exc, "message", "") or exc).strip().splitlines()
        record.msg, record.args = "bad_http_request", ()
        record.exc_info, record.exc_text = None, None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.event = "bad_http_request"
        record.reason = (reason[0] if reason else type(exc).__name__)[:200]
        return True


def _buffered_stdout() -> TextIO:
    """Standard output behind a buffer of its own.

    With PYTHONUNBUFFERED (set in our images, as in most containers) ``sys.stdout`` writes
    through: a system call per line, whatever the handler's flush schedule says.
    """
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by a test harness or closed
        return sys.stdout
    # Lives as long as the process; closefd=False leaves the descriptor to sys.stdout.
    return open(fd, "w", encoding="utf-8", buffering=_STDOUT_BUFFER_BYTES, closefd=False)


def configure_json_logging(
    level: str,
    fields: str,
    *,
    stream: TextIO | None = None,
    filters: Sequence[logging.Filter] = (),
    flush_interval_s: float = DEFAULT_FLUSH_INTERVAL_S,
) -> None:
    """Send every record to ``stream`` (stdout) as one JSON object a line.

    ``fields`` is python-json-logger's format (``"%(levelname)s %(name)s %(message)s"``);
    ``levelname`` and ``name`` come out as ``level`` and ``logger`` in both services, with
    the record's ISO ``timestamp`` (cheaper than asctime's strftime on every line).
    """
    handler = JsonLineHandler(stream or _buffered_stdout(), flush_interval_s)
    handler.setFormatter(OrjsonFormatter(fields, rename_fields=RENAMED, timestamp=True))
    for log_filter in filters:
        handler.addFilter(log_filter)
    # Per-record work nobody reads: thread and process names (the logging HOWTO's
    # "Optimization" section lists these switches).
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    root = logging.getLogger()
    root.handlers[:] = [handler]
    JsonLineHandler.installed = (handler, tuple(_FORMAT_FIELD.findall(fields)))
    root.setLevel(level.upper())
    aiohttp_server = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, ConciseBadRequests) for f in aiohttp_server.filters):
        aiohttp_server.addFilter(ConciseBadRequests())
    # Each service writes its own access line; aiohttp's would repeat it.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def log_fields(logger: logging.Logger, message: str, fields: Mapping[str, object]) -> None:
    """``logger.info(message, extra=fields)``: the same line, at a fraction of the cost.

    The shortcut applies only while :func:`configure_json_logging`'s handler is the one
    place records go (a test's capture handler, say, gets the standard path). It runs no
    filter: ``fields`` carries what they would stamp (``request_id``).
    """
    installed = JsonLineHandler.installed
    if installed is None or not _only_to(installed[0], logger):
        logger.info(message, extra=dict(fields))
        return
    if logger.isEnabledFor(logging.INFO):
        handler, layout = installed
        line = _line(layout, "INFO", logger.name, message, fields)
        handler.write_line(line, logging.INFO)


def _only_to(handler: JsonLineHandler, logger: logging.Logger) -> bool:
    root_handlers = logging.root.handlers
    return (
        len(root_handlers) == 1
        and root_handlers[0] is handler
        and not logger.handlers
        and logger.propagate
        and handler.level <= logging.INFO
    )


def _line(
    layout: tuple[str, ...],
    level_name: str,
    logger_name: str,
    message: str,
    fields: Mapping[str, object],
) -> str:
    """What OrjsonFormatter(fmt, rename_fields=RENAMED, timestamp=True) writes: the format's
    fields in order, then the extras (without private ones), then the timestamp."""
    given = {"levelname": level_name, "name": logger_name, "message": message}
    data: dict[str, object] = {}
    for name in layout:
        data[RENAMED.get(name, name)] = given[name] if name in given else fields.get(name)
    for name, value in fields.items():
        if name not in given and not name.startswith("_") and RENAMED.get(name, name) not in data:
            data[name] = value
    data["timestamp"] = datetime.now(tz=UTC)
    return orjson.dumps(data).decode()
