from __future__ import annotations

from mock_provider.dialect import StreamFrames
from mock_provider.faults import FaultParams
from mock_provider.streaming import CUT, Pause, Step, coalesce, stream_steps

FRAMES = StreamFrames(
    head=(b"H",),
    tokens=(b"t0", b"t1", b"t2", b"t3"),
    tail=(b"T",),
    terminator=b"DONE",
    malformed=b"BAD",
)
PARAMS = FaultParams(
    first_token_delay_s=3.0,
    stream_cut_after_tokens=2,
    stall_after_tokens=1,
    stall_s=9.0,
    malformed_event_after_tokens=3,
)


def test_healthy_stream_sends_head_tokens_tail_and_terminator() -> None:
    steps = stream_steps(FRAMES, "ok", PARAMS, 0.0)
    assert steps == [b"H", b"t0", b"t1", b"t2", b"t3", b"T", b"DONE"]


def test_token_interval_paces_between_tokens_only() -> None:
    steps = stream_steps(FRAMES, "ok", PARAMS, 0.1)
    assert steps == [
        b"H", b"t0", Pause(0.1), b"t1", Pause(0.1), b"t2", Pause(0.1), b"t3", b"T", b"DONE",
    ]  # fmt: skip


def test_stream_cut_ends_after_n_tokens_without_final_events() -> None:
    assert stream_steps(FRAMES, "stream_cut", PARAMS, 0.0) == [b"H", b"t0", b"t1", CUT]


def test_stream_cut_past_the_last_token_still_drops_the_final_events() -> None:
    params = FaultParams(stream_cut_after_tokens=99)
    steps = stream_steps(FRAMES, "stream_cut", params, 0.0)
    assert steps == [b"H", b"t0", b"t1", b"t2", b"t3", CUT]


def test_stream_stall_goes_silent_after_n_tokens_then_finishes() -> None:
    steps = stream_steps(FRAMES, "stream_stall", PARAMS, 0.0)
    assert steps == [b"H", b"t0", Pause(9.0), b"t1", b"t2", b"t3", b"T", b"DONE"]


def test_malformed_event_is_sent_mid_stream_and_the_stream_goes_on() -> None:
    steps = stream_steps(FRAMES, "stream_malformed_event", PARAMS, 0.0)
    assert steps == [b"H", b"t0", b"t1", b"t2", b"BAD", b"t3", b"T", b"DONE"]


def test_stream_no_done_omits_only_the_terminator() -> None:
    steps = stream_steps(FRAMES, "stream_no_done", PARAMS, 0.0)
    assert steps == [b"H", b"t0", b"t1", b"t2", b"t3", b"T"]


def test_slow_first_token_waits_before_the_first_event() -> None:
    steps = stream_steps(FRAMES, "slow_first_token", PARAMS, 0.0)
    assert steps[:2] == [Pause(3.0), b"H"]
    assert steps[-1] == b"DONE"


def test_coalesce_joins_adjacent_frames_into_one_write() -> None:
    steps: list[Step] = [b"a", b"b", Pause(1.0), b"c", CUT]
    assert coalesce(steps) == [b"ab", Pause(1.0), b"c", CUT]
