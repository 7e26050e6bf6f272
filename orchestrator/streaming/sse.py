"""Incremental server-sent-events decoding: bytes as they arrive in, whole events out.

Follows the WHATWG event-stream rules the providers rely on: ``field: value`` lines, a
blank line dispatches the event, ``data`` lines of one event are joined with ``\\n``,
lines starting with ``:`` are comments (keep-alives). Lines end in LF or CRLF. Data stays
bytes because ``orjson.loads`` reads bytes directly: decoding first would copy it twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from orchestrator.transport.errors import UpstreamProtocolError

MAX_EVENT_BYTES: Final = 1_048_576
"""An upstream event larger than this is a broken stream, not an answer worth buffering."""

_COLON: Final = 58  # b":"[0]


class SSEProtocolError(UpstreamProtocolError):
    """The byte stream cannot be a well-formed event stream (an event past the size limit)."""


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    event: str | None  # the ``event:`` field, None when absent (OpenAI never sends one)
    data: bytes


class SSEDecoder:
    """Feed it chunks with :meth:`feed`; each call returns the events those bytes completed."""

    __slots__ = ("_data", "_data_bytes", "_event", "_max_event_bytes", "_partial")

    def __init__(self, max_event_bytes: int = MAX_EVENT_BYTES) -> None:
        self._max_event_bytes = max_event_bytes
        self._partial = b""  # an unfinished line
        self._data: list[bytes] = []
        self._data_bytes = 0
        self._event: str | None = None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """The events completed by ``chunk``; :class:`SSEProtocolError` past the size limit."""
        buffer = self._partial + chunk if self._partial else chunk
        lines = buffer.split(b"\n")
        self._partial = lines.pop()
        events: list[ServerSentEvent] = []
        for raw in lines:
            line = raw[:-1] if raw.endswith(b"\r") else raw
            if not line:
                if self._data:
                    events.append(ServerSentEvent(self._event, b"\n".join(self._data)))
                    self._data = []
                    self._data_bytes = 0
                self._event = None
            elif line[0] != _COLON:
                self._field(line)
        if len(self._partial) + self._data_bytes > self._max_event_bytes:
            raise SSEProtocolError(
                f"an upstream event exceeded {self._max_event_bytes} bytes without ending"
            )
        return events

    def _field(self, line: bytes) -> None:
        name, _, value = line.partition(b":")
        if value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            self._data.append(value)
            self._data_bytes += len(value)
        elif name == b"event":
            self._event = value.decode("utf-8", errors="replace")
        # "id" and "retry" only matter to a client that reconnects; we never do mid-answer.
