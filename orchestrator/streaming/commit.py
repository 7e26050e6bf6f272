"""Reading a stream up to its commit point, before any byte reaches the client.

The commit point is the first content (text, a tool-call fragment or any other delta, or
an empty answer's finish). Until then a
stream is an ordinary attempt: an error event as the first event, a stream that ends
before any content, or a malformed stream is an :class:`~orchestrator.decision.Outcome`
that the decision table, the breaker and the logs read like any other. In buffered mode
the commit point moves to the end of the answer, so a cut, a stall or an error event half
way is still just a failed attempt.

These functions return an outcome for what the stream *said*; what the connection *did*
(reset, timed out, sent bytes that are no event stream) is raised, and the attempt's one
exception map (:func:`orchestrator.transport.errors.outcome_of`) turns it into one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from orchestrator.answers import UpstreamError
from orchestrator.decision import Outcome, OutcomeKind
from orchestrator.streaming.reader import UpstreamStream

Elapsed = Callable[[], float]  # seconds since the attempt started


async def read_until_started(stream: UpstreamStream, elapsed: Elapsed) -> Outcome | None:
    while not stream.started:
        failure = await _read_once(stream, elapsed)
        if failure is not None:
            return failure
        if not stream.started and (stream.eof or stream.upstream_done):
            return _ended_early(stream, elapsed, "before the first token")
    return None


async def read_rest(stream: UpstreamStream, elapsed: Elapsed, left_s: Elapsed) -> Outcome | None:
    """Buffered mode: read to the end, each wait bounded by the idle limit and the deadline
    (``left_s()`` is the time left in it)."""
    idle_s = stream.policy.idle_timeout_s
    while not stream.complete:
        wait_s = min(idle_s, left_s())
        try:
            async with asyncio.timeout(max(wait_s, 0.0)):
                failure = await _read_once(stream, elapsed)
        except TimeoutError:
            what = "stalled" if wait_s == idle_s else "hit the request deadline"
            return Outcome(
                OutcomeKind.TIMEOUT,
                None,
                elapsed(),
                message=f"the stream {what} after {stream.content_chunks} chunks "
                f"(no bytes for {wait_s:.3g} s)",
            )
        if failure is not None:
            return failure
        if not stream.complete and (stream.eof or stream.upstream_done):
            return _ended_early(
                stream, elapsed, f"after {stream.content_chunks} chunks, unfinished"
            )
    return None


async def _read_once(stream: UpstreamStream, elapsed: Elapsed) -> Outcome | None:
    for event in await stream.read():
        error = stream.absorb(event)
        if error is not None:
            return _error_event(error, elapsed)
        if stream.relayable(event):
            stream.backlog.append(event)
    return None


def _error_event(error: UpstreamError, elapsed: Elapsed) -> Outcome:
    return Outcome(
        error.kind,
        None,
        elapsed(),
        message=f"error event in the stream: {error.message}",
        error_type=error.error_type,
    )


def _ended_early(stream: UpstreamStream, elapsed: Elapsed, when: str) -> Outcome:
    # A cut connection and a terminator with no finish both mean: no usable answer here.
    kind = OutcomeKind.CONNECTION_ERROR if stream.eof else OutcomeKind.MALFORMED_RESPONSE
    return Outcome(kind, None, elapsed(), message=f"the stream ended {when}")
