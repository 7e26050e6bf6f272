"""The incremental SSE decoder: events out of bytes however the network splits them."""

from __future__ import annotations

import pytest

from orchestrator.streaming.sse import ServerSentEvent, SSEDecoder, SSEProtocolError


def test_an_event_split_across_reads_is_returned_once_complete() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"a"') == []
    assert decoder.feed(b": 1}\n") == []
    assert decoder.feed(b"\n") == [ServerSentEvent(None, b'{"a": 1}')]


def test_one_read_with_many_events_returns_them_in_order() -> None:
    events = SSEDecoder().feed(b"data: 1\n\ndata: 2\n\ndata: [DONE]\n\n")
    assert [e.data for e in events] == [b"1", b"2", b"[DONE]"]


def test_event_names_and_crlf_line_endings_are_read() -> None:
    events = SSEDecoder().feed(b"event: ping\r\ndata: {}\r\n\r\nevent: x\r\ndata: 2\r\n\r\n")
    assert events == [ServerSentEvent("ping", b"{}"), ServerSentEvent("x", b"2")]


def test_comments_are_skipped_and_multiline_data_is_joined() -> None:
    events = SSEDecoder().feed(b": keep-alive\n\ndata: a\ndata: b\nid: 7\nretry: 10\n\n")
    assert events == [ServerSentEvent(None, b"a\nb")]


def test_the_space_after_the_colon_is_optional() -> None:
    assert SSEDecoder().feed(b"data:x\n\n") == [ServerSentEvent(None, b"x")]


def test_an_event_name_does_not_leak_into_the_next_event() -> None:
    events = SSEDecoder().feed(b"event: error\ndata: 1\n\ndata: 2\n\n")
    assert [e.event for e in events] == ["error", None]


def test_an_unfinished_event_at_the_end_is_not_returned() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: cut off mid-") == []


def test_an_event_growing_past_the_limit_is_a_protocol_error() -> None:
    decoder = SSEDecoder(max_event_bytes=16)
    decoder.feed(b"data: 0123456789\n")
    with pytest.raises(SSEProtocolError, match="16 bytes"):
        decoder.feed(b"data: 0123456789\n")


def test_a_line_without_end_past_the_limit_is_a_protocol_error() -> None:
    with pytest.raises(SSEProtocolError):
        SSEDecoder(max_event_bytes=8).feed(b"data: " + b"x" * 20)
