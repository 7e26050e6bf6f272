from __future__ import annotations

import pytest

from mock_provider.attempt_log import AttemptEntry, AttemptLog


def entry(log: AttemptLog, provider: str = "openai", request_id: str | None = None) -> AttemptEntry:
    return AttemptEntry(
        seq=log.next_seq(),
        time=1.0,
        provider=provider,
        path="/v1/chat/completions",
        model="m",
        stream=False,
        request_id=request_id,
        attempt=None,
        fault="ok",
        status=200,
        disconnected=False,
    )


def test_entries_are_listed_in_arrival_order_even_when_finished_out_of_order() -> None:
    log = AttemptLog()
    slow, fast = entry(log), entry(log)
    log.add(fast)
    log.add(slow)
    assert [e.seq for e in log.entries()] == [1, 2]


def test_log_keeps_only_the_newest_entries_up_to_capacity() -> None:
    log = AttemptLog(capacity=3)
    for _ in range(5):
        log.add(entry(log))
    assert [e.seq for e in log.entries()] == [3, 4, 5]


def test_filters_by_provider_and_request_id() -> None:
    log = AttemptLog()
    log.add(entry(log, "openai", "a"))
    log.add(entry(log, "anthropic", "a"))
    log.add(entry(log, "openai", "b"))
    assert [e.seq for e in log.entries(provider="openai")] == [1, 3]
    assert [e.seq for e in log.entries(request_id="a")] == [1, 2]
    assert [e.seq for e in log.entries(provider="anthropic", request_id="b")] == []


def test_clear_empties_the_log_but_sequence_numbers_keep_rising() -> None:
    log = AttemptLog()
    log.add(entry(log))
    log.clear()
    assert len(log) == 0
    assert log.next_seq() == 2


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="capacity"):
        AttemptLog(capacity=0)
