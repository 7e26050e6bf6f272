"""After the commit point: relay the upstream stream to the client, and end it honestly.

Ends, and what the client sees (in the caller's wire format, through a
:class:`StreamRenderer`):

- the provider finished: the finish, the usage (if asked for) and the terminator -- at once
  when the finish (and usage) arrived, without waiting for the provider's terminator;
- the provider cut the stream, went silent for the idle limit, or sent an error event:
  an in-band error event and no terminator, so no client mistakes a truncated answer for a
  whole one. The deployment's breaker records the stream's end like any attempt's outcome
  (the breaker registry's one ``record``);
- the client left: the upstream request is closed at once, so the provider stops too.

The request deadline bounds everything before the commit point; after it, the idle limit
bounds each silence (a healthy answer may legitimately stream for longer than the deadline).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Protocol

from aiohttp import web

from orchestrator.answers import ChoiceDelta, Finish, Relayable, TextDelta, UsageReport
from orchestrator.breaker import BreakerRegistry
from orchestrator.decision import OutcomeKind
from orchestrator.engine.results import Success
from orchestrator.redaction import Redactor
from orchestrator.streaming.observer import (
    StreamEnd,
    StreamObserver,
    StreamReport,
)
from orchestrator.streaming.reader import UpstreamStream
from orchestrator.telemetry.logs import JOURNEY_LOGGER
from orchestrator.transport.errors import describe, kind_of
from shared.models import Usage

log: Final = logging.getLogger(JOURNEY_LOGGER)

_FAILURE_MESSAGES: Final = MappingProxyType(
    {
        StreamEnd.INTERRUPTED: "the provider's stream ended without finishing the answer",
        StreamEnd.STALLED: "the provider's stream stalled (no content for {idle:g} s)",
        StreamEnd.TOO_LONG: "the stream reached its duration limit of {longest:g} s",
        StreamEnd.UPSTREAM_ERROR: "the provider sent an error mid-stream: {detail}",
        StreamEnd.INTERNAL_ERROR: "the orchestrator hit an internal error while relaying",
    }
)


SSE_HEADERS: Final = MappingProxyType(
    {
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-cache",
        # Reverse proxies (nginx) buffer responses unless told not to; a buffered stream is not one.
        "X-Accel-Buffering": "no",
    }
)

_END_KINDS: Final[Mapping[StreamEnd, OutcomeKind | None]] = MappingProxyType(
    {
        StreamEnd.COMPLETED: OutcomeKind.SUCCESS,
        StreamEnd.INTERRUPTED: OutcomeKind.CONNECTION_ERROR,
        StreamEnd.STALLED: OutcomeKind.TIMEOUT,
        StreamEnd.TOO_LONG: OutcomeKind.TIMEOUT,
        StreamEnd.UPSTREAM_ERROR: OutcomeKind.SERVER_ERROR,
        StreamEnd.CLIENT_DISCONNECTED: None,  # says nothing of the provider
        StreamEnd.INTERNAL_ERROR: None,  # ours, not the provider's
    }
)
"""How a committed stream ended, as the outcome the breaker records (None: neutral); an
error event or a transport failure refines it with its own kind."""


class StreamRenderer(Protocol):
    """The caller's wire format for a relayed stream (OpenAI chunks, Anthropic events)."""

    def delta(self, text: str) -> bytes:
        """The first choice's text."""
        ...

    def choice_delta(self, event: ChoiceDelta) -> bytes:
        """Any other delta: tool-call fragments, a refusal, another choice's text."""
        ...

    def choice_finish(self, event: Finish) -> bytes:
        """A choice that finished while others still stream."""
        ...

    def ending(
        self, finish_reason: str, usage: Usage | None, extra: dict[str, Any], index: int = 0
    ) -> bytes:
        """The last choice's finish, the usage (if the caller asked for it) and the
        terminator."""
        ...

    def error(self, message: str, code: str, request_id: str, detail: dict[str, Any]) -> bytes:
        """The in-band error that ends a broken stream (and no terminator)."""
        ...


@dataclass(frozen=True, slots=True)
class StreamRelay:
    """Per app: what every relayed stream reports to (breakers, observer) and its clocks."""

    breakers: BreakerRegistry
    observer: StreamObserver
    clock: Callable[[], float]
    wall_clock: Callable[[], float]
    redactor: Redactor = field(default_factory=lambda: Redactor(()))

    async def serve(
        self,
        request: web.Request,
        success: Success,
        request_id: str,
        renderer: StreamRenderer,
        headers: dict[str, str],
    ) -> web.StreamResponse:
        stream = success.stream
        if stream is None:
            raise ValueError("StreamRelay.serve needs a Success that carries a stream")
        response = web.StreamResponse(status=200, headers={**SSE_HEADERS, **headers})
        run = _Run(response, stream, renderer, request_id, success, redactor=self.redactor)
        started = self.clock()
        end = StreamEnd.CLIENT_DISCONNECTED  # what a cancellation (the client left) means
        try:
            await response.prepare(request)
            end = await run.relay()
            await response.write_eof()
        except ConnectionResetError:
            end = StreamEnd.CLIENT_DISCONNECTED  # a write found the client gone
        except Exception:
            # Headers are out: the only honest way left to say it is in-band.
            log.exception("stream relay failed", extra={"event": "stream_internal_error"})
            end = StreamEnd.INTERNAL_ERROR
            with contextlib.suppress(Exception):
                await response.write(run.error(end))
        finally:
            stream.close()
            self._report(success, request_id, end, stream, self.clock() - started)
            kind = run.end_kind(end)
            if kind is None:
                self.breakers.release(success.deployment.key)
            else:
                self.breakers.record(success.deployment.key, kind)
        return response

    def _report(
        self,
        success: Success,
        request_id: str,
        end: StreamEnd,
        stream: UpstreamStream,
        duration_s: float,
    ) -> None:
        deployment = success.deployment
        fields = {
            "event": f"stream_{end.name.lower()}",
            "provider": deployment.provider.name,
            "model": deployment.model,
            "content_chunks": stream.content_chunks,
            "malformed_events": stream.malformed_events,
            "finish_reason": stream.finish_reason,
            "relay_ms": round(duration_s * 1000.0, 3),
        }
        level = logging.INFO if end is StreamEnd.COMPLETED else logging.WARNING
        log.log(level, fields["event"], extra=fields)
        report = StreamReport(
            request_id,
            end,
            stream.content_chunks,
            stream.malformed_events,
            duration_s,
            stream.usage,
        )
        self.observer.on_stream_end(deployment, report)


class _Run:
    """One relay: writes each upstream read as one client write, then the ending."""

    def __init__(
        self,
        response: web.StreamResponse,
        stream: UpstreamStream,
        encoder: StreamRenderer,
        request_id: str,
        success: Success,
        *,
        redactor: Redactor,
    ) -> None:
        self.redactor = redactor
        self.response = response
        self.stream = stream
        self.encoder = encoder
        self.request_id = request_id
        self.success = success
        self.error_detail = ""
        self.error_kind: OutcomeKind | None = None  # what broke it, when we know

    def end_kind(self, end: StreamEnd) -> OutcomeKind | None:
        """The outcome the breaker records for this stream's ``end``."""
        if self.error_kind is not None and end in (StreamEnd.INTERRUPTED, StreamEnd.UPSTREAM_ERROR):
            return self.error_kind
        return _END_KINDS[end]

    async def relay(self) -> StreamEnd:
        stream, encoder = self.stream, self.encoder
        out = [_encoded(encoder, event) for event in stream.backlog]
        stream.backlog.clear()
        end = await self._pump(out)
        await self.response.write(self._ending() if end is StreamEnd.COMPLETED else self.error(end))
        return end

    async def _pump(self, out: list[bytes]) -> StreamEnd:
        """Relay until the answer is complete or the upstream fails; ``out`` is sent first."""
        stream, encoder, write = self.stream, self.encoder, self.response.write
        idle_s = stream.policy.idle_timeout_s
        loop = asyncio.get_running_loop()
        progress_at = loop.time()
        ends_at = progress_at + stream.policy.max_duration_s
        while True:
            if out:
                await write(b"".join(out))
                out = []
            if stream.complete:
                return StreamEnd.COMPLETED
            if stream.eof or stream.upstream_done:
                return StreamEnd.INTERRUPTED
            # Progress is content, not bytes: pings and comments cannot keep a stream alive.
            wait_until = min(progress_at + idle_s, ends_at)
            try:
                async with asyncio.timeout_at(wait_until):
                    events = await stream.read()
            except TimeoutError:
                return StreamEnd.TOO_LONG if wait_until >= ends_at else StreamEnd.STALLED
            except Exception as exc:  # the transport's failures, mapped like an attempt's
                self.error_detail = self.redactor.text(describe(exc)) or ""
                self.error_kind = kind_of(exc)
                return StreamEnd.INTERRUPTED
            for event in events:
                error = stream.absorb(event)
                if error is not None:
                    self.error_detail = self.redactor.text(error.message) or ""
                    self.error_kind = error.kind
                    if out:
                        await write(b"".join(out))
                    return StreamEnd.UPSTREAM_ERROR
                if isinstance(event, TextDelta):
                    out.append(encoder.delta(event.text))
                    progress_at = loop.time()
                elif isinstance(event, ChoiceDelta | Finish | UsageReport):
                    if stream.relayable(event):
                        out.append(_encoded(encoder, event))
                    progress_at = loop.time()

    def _ending(self) -> bytes:
        stream, success = self.stream, self.success
        extra: dict[str, Any] = {
            "request_id": self.request_id,
            "provider": success.deployment.provider.name,
            "attempts": len(success.attempts),
        }
        reason = stream.finish_reason or "stop"
        return self.encoder.ending(reason, stream.usage, extra, stream.finish_index)

    def error(self, end: StreamEnd) -> bytes:
        deployment = self.success.deployment
        template = _FAILURE_MESSAGES[end]
        policy = self.stream.policy
        reason = template.format(
            idle=policy.idle_timeout_s, longest=policy.max_duration_s, detail=self.error_detail
        )
        message = (
            f"The answer is incomplete: {reason} after {self.stream.content_chunks} chunks "
            f"from {deployment.provider.name} ({deployment.model}). Retry the request."
        )
        detail = {"provider": deployment.provider.name, "model": deployment.model}
        return self.encoder.error(message, end.value, self.request_id, detail)


def _encoded(encoder: StreamRenderer, event: Relayable) -> bytes:
    if isinstance(event, TextDelta):
        return encoder.delta(event.text)
    if isinstance(event, ChoiceDelta):
        return encoder.choice_delta(event)
    return encoder.choice_finish(event)


STREAM_RELAY_KEY: Final = web.AppKey("stream_relay", StreamRelay)
