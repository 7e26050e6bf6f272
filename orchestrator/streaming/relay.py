"""After the commit point: relay the upstream stream to the client, and end it honestly.

Ends, and what the client sees:

- the provider finished: the finish chunk, the usage chunk (if asked for), ``[DONE]`` --
  at once when the finish (and usage) arrived, without waiting for the provider's terminator;
- the provider cut the stream, went silent for the idle limit, or sent an error event:
  an in-band ``data: {"error": ...}`` event and no ``[DONE]``, so no client mistakes a
  truncated answer for a whole one. The deployment's breaker counts it as a failure;
- the client left: the upstream request is closed at once, so the provider stops too.

The request deadline bounds everything before the commit point; after it, the idle limit
bounds each silence (a healthy answer may legitimately stream for longer than the deadline).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

import aiohttp
from aiohttp import web

from orchestrator.breaker import BreakerRegistry
from orchestrator.engine import Success
from orchestrator.observability import JOURNEY_LOGGER
from orchestrator.streaming.chunks import SSE_HEADERS, ChunkEncoder, error_event
from orchestrator.streaming.events import TextDelta
from orchestrator.streaming.observer import (
    PROVIDER_FAILURES,
    StreamEnd,
    StreamObserver,
    StreamReport,
)
from orchestrator.streaming.reader import UpstreamStream
from orchestrator.streaming.sse import SSEProtocolError

log: Final = logging.getLogger(JOURNEY_LOGGER)

_FAILURE_MESSAGES: Final = MappingProxyType(
    {
        StreamEnd.INTERRUPTED: "the provider's stream ended without finishing the answer",
        StreamEnd.STALLED: "the provider's stream stalled (no bytes for {idle:g} s)",
        StreamEnd.UPSTREAM_ERROR: "the provider sent an error mid-stream: {detail}",
        StreamEnd.INTERNAL_ERROR: "the orchestrator hit an internal error while relaying",
    }
)


@dataclass(frozen=True, slots=True)
class StreamRelay:
    """Per app: what every relayed stream reports to (breakers, observer) and its clocks."""

    breakers: BreakerRegistry
    observer: StreamObserver
    clock: Callable[[], float]
    wall_clock: Callable[[], float]

    async def serve(
        self,
        request: web.Request,
        success: Success,
        request_id: str,
        include_usage: bool,
        headers: dict[str, str],
    ) -> web.StreamResponse:
        stream = success.stream
        if stream is None:
            raise ValueError("StreamRelay.serve needs a Success that carries a stream")
        deployment = success.deployment
        encoder = ChunkEncoder(
            stream.upstream_id or f"chatcmpl-{request_id}",
            int(self.wall_clock()),
            deployment.model,
            include_usage,
        )
        response = web.StreamResponse(status=200, headers={**SSE_HEADERS, **headers})
        run = _Run(response, stream, encoder, request_id, success)
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
        failed = end in PROVIDER_FAILURES
        if failed:
            # The provider broke a stream it had started: as much a failure as a 5xx.
            self.breakers.get(deployment.key).on_failure()
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
        encoder: ChunkEncoder,
        request_id: str,
        success: Success,
    ) -> None:
        self.response = response
        self.stream = stream
        self.encoder = encoder
        self.request_id = request_id
        self.success = success
        self.error_detail = ""

    async def relay(self) -> StreamEnd:
        stream, encoder = self.stream, self.encoder
        out = [encoder.delta(text) for text in stream.backlog]
        stream.backlog.clear()
        end = await self._pump(out)
        await self.response.write(self._ending() if end is StreamEnd.COMPLETED else self.error(end))
        return end

    async def _pump(self, out: list[bytes]) -> StreamEnd:
        """Relay until the answer is complete or the upstream fails; ``out`` is sent first."""
        stream, encoder, write = self.stream, self.encoder, self.response.write
        idle_s = stream.policy.idle_timeout_s
        loop = asyncio.get_running_loop()
        while True:
            if out:
                await write(b"".join(out))
                out = []
            if stream.complete:
                return StreamEnd.COMPLETED
            if stream.eof or stream.upstream_done:
                return StreamEnd.INTERRUPTED
            try:
                async with asyncio.timeout_at(loop.time() + idle_s):
                    events = await stream.read()
            except TimeoutError:
                return StreamEnd.STALLED
            except (aiohttp.ClientError, SSEProtocolError) as exc:
                self.error_detail = f"{type(exc).__name__}: {exc}"
                return StreamEnd.INTERRUPTED
            for event in events:
                error = stream.absorb(event)
                if error is not None:
                    self.error_detail = error.message
                    if out:
                        await write(b"".join(out))
                    return StreamEnd.UPSTREAM_ERROR
                if isinstance(event, TextDelta):
                    out.append(encoder.delta(event.text))

    def _ending(self) -> bytes:
        stream, success = self.stream, self.success
        extra: dict[str, Any] = {
            "request_id": self.request_id,
            "provider": success.deployment.provider.name,
            "attempts": len(success.attempts),
        }
        parts = [self.encoder.finish(stream.finish_reason or "stop", extra)]
        usage_wanted = self.encoder.include_usage
        if usage_wanted and stream.usage is not None:
            parts.append(self.encoder.usage(stream.usage))
        parts.append(b"data: [DONE]\n\n")
        return b"".join(parts)

    def error(self, end: StreamEnd) -> bytes:
        deployment = self.success.deployment
        template = _FAILURE_MESSAGES[end]
        reason = template.format(idle=self.stream.policy.idle_timeout_s, detail=self.error_detail)
        message = (
            f"The answer is incomplete: {reason} after {self.stream.content_chunks} chunks "
            f"from {deployment.provider.name} ({deployment.model}). Retry the request."
        )
        detail = {"provider": deployment.provider.name, "model": deployment.model}
        return error_event(message, end.value, self.request_id, detail)


STREAM_RELAY_KEY: Final = web.AppKey("stream_relay", StreamRelay)
