"""Server-sent events with stream faults: what to send, when to pause, where to cut.

:func:`stream_steps` is pure (frames + fault in, steps out) so every stream fault is unit
tested without a socket; :func:`send_stream` only executes the steps.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from aiohttp import web

from mock_provider.connection import drop_connection
from mock_provider.dialect import SSE_CONTENT_TYPE, StreamFrames
from mock_provider.faults import FaultParams


@dataclass(frozen=True, slots=True)
class Pause:
    seconds: float


@dataclass(frozen=True, slots=True)
class Cut:
    """End the connection here, with no terminating event."""


Step = bytes | Pause | Cut
CUT: Final = Cut()


def _fault_index(kind: str, wanted: str, after_tokens: int, token_count: int) -> int | None:
    return min(after_tokens, token_count) if kind == wanted else None


def _token_steps(
    frames: StreamFrames, kind: str, params: FaultParams, interval_s: float
) -> list[Step]:
    """The token frames with pacing, and the stall / malformed event / cut at their index."""
    tokens = frames.tokens
    count = len(tokens)
    cut_at = _fault_index(kind, "stream_cut", params.stream_cut_after_tokens, count)
    if kind == "stream_cut_tool_arguments":
        # Inside a tool call's arguments; an answer that calls no tool is cut like stream_cut.
        at = frames.tool_arguments_at
        cut_at = min(params.stream_cut_after_tokens if at is None else at, count)
    stall_at = _fault_index(kind, "stream_stall", params.stall_after_tokens, count)
    malformed_at = _fault_index(
        kind, "stream_malformed_event", params.malformed_event_after_tokens, count
    )
    steps: list[Step] = []
    for index in range(count + 1):
        if index == cut_at:
            steps.append(CUT)
            break
        if index == stall_at:
            steps.append(Pause(params.stall_s))
        if index == malformed_at:
            steps.append(frames.malformed)
        if index == count:
            break
        if index and interval_s > 0:
            steps.append(Pause(interval_s))
        steps.append(tokens[index])
    return steps


def stream_steps(
    frames: StreamFrames, kind: str, params: FaultParams, interval_s: float
) -> list[Step]:
    """Everything one stream does, in order, for fault ``kind`` (any other kind streams fully).

    A fault index past the last token applies right after it, so a short answer still
    stalls, breaks or is cut before its final events.
    """
    steps: list[Step] = []
    if kind == "slow_first_token":
        steps.append(Pause(params.first_token_delay_s))
    steps.extend(frames.head)
    steps.extend(_token_steps(frames, kind, params, interval_s))
    if steps and steps[-1] is CUT:
        return steps
    steps.extend(frames.tail)
    if kind != "stream_no_done":
        steps.append(frames.terminator)
    return steps


def coalesce(steps: Sequence[Step]) -> list[Step]:
    """Join adjacent frames into one write: an unpaced stream costs one syscall, not 80."""
    merged: list[Step] = []
    for step in steps:
        if isinstance(step, bytes) and merged and isinstance(merged[-1], bytes):
            merged[-1] += step
        else:
            merged.append(step)
    return merged


async def send_stream(
    request: web.Request, headers: Mapping[str, str], steps: Sequence[Step]
) -> web.StreamResponse:
    """Send a 200 event stream made of ``steps``; headers go out at once."""
    response = web.StreamResponse(
        status=200,
        headers={**headers, "Content-Type": SSE_CONTENT_TYPE, "Cache-Control": "no-cache"},
    )
    await response.prepare(request)
    for step in coalesce(steps):
        if isinstance(step, bytes):
            await response.write(step)
        elif isinstance(step, Pause):
            await asyncio.sleep(step.seconds)
        else:
            drop_connection(request, reset=False)
    await response.write_eof()
    return response
