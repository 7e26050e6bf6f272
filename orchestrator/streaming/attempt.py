"""The streaming attempt: open the upstream stream and read it up to the commit point.

For a ``stream: true`` request the engine's loop runs unchanged; only the attempt differs.
It succeeds once the first content token (or an empty answer's finish) has arrived, and
hands the engine an open :class:`UpstreamStream`. Every failure before that point is an
ordinary :class:`~orchestrator.policy.Outcome`, so retry, failover and the breaker treat
it like any other: an error status, a connection error, an error event as the first
event, a stream that ends before any content, or no first token in time.

In buffered mode the commit point moves to the end: the attempt reads the whole answer,
so a cut, a stall or an error event half-way is still just a failed attempt.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Mapping

import aiohttp

from orchestrator.config import AppConfig, StreamPolicy
from orchestrator.engine import Upstream
from orchestrator.policy import Outcome, OutcomeKind
from orchestrator.providers.base import MalformedResponse, ProviderAdapter, adapter_for
from orchestrator.router import Deployment
from orchestrator.streaming.events import TextDelta, UpstreamError
from orchestrator.streaming.observer import StreamObserver
from orchestrator.streaming.reader import UpstreamStream
from orchestrator.streaming.sse import SSEProtocolError
from orchestrator.streaming.translate import translator_for
from orchestrator.upstream import AttemptResult
from orchestrator.validation import STREAM_MODE_FIELD
from shared.models import ChatRequest

_EVENT_STREAM = "text/event-stream"


def stream_policy_for(request: ChatRequest, routes: Mapping[str, StreamPolicy]) -> StreamPolicy:
    """The route's stream policy, with the request's own ``stream_mode`` (validated) on top."""
    policy = routes.get(request.model) or StreamPolicy()
    mode = request.extra.get(STREAM_MODE_FIELD)
    if mode is not None and mode != policy.mode:
        return dataclasses.replace(policy, mode=mode)
    return policy


class StreamingUpstream:
    """The engine's upstream: streams for ``stream: true`` requests, ``plain`` for the rest.

    For a stream the engine passes the whole time left in the request deadline as
    ``timeout_s``; the first-token limit (and in buffered mode the idle limit) apply inside it.
    """

    def __init__(
        self,
        plain: Upstream,
        session: aiohttp.ClientSession,
        config: AppConfig,
        clock: Callable[[], float],
        observer: StreamObserver,
    ) -> None:
        self._plain = plain
        self._session = session
        self._clock = clock
        self._observer = observer
        self._policies = {model: route.stream for model, route in config.routes.items()}

    async def attempt(
        self,
        deployment: Deployment,
        request: ChatRequest,
        request_id: str,
        attempt_number: int,
        timeout_s: float,
    ) -> AttemptResult:
        if not request.stream:
            return await self._plain.attempt(
                deployment, request, request_id, attempt_number, timeout_s
            )
        adapter = adapter_for(deployment.provider.wire_format)
        stream = UpstreamStream(
            translator_for(adapter.wire_format),
            deployment,
            stream_policy_for(request, self._policies),
            self._observer.on_malformed_event,
        )
        upstream_request = adapter.build_request(request, deployment, request_id, attempt_number)
        attempt = _StreamAttempt(self._session, adapter, stream, self._clock, timeout_s)
        return await attempt.run(
            upstream_request.url, upstream_request.body, upstream_request.headers
        )


class _StreamAttempt:
    """One attempt's pre-commit reading; closes the upstream on every way out but success."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        adapter: ProviderAdapter,
        stream: UpstreamStream,
        clock: Callable[[], float],
        deadline_s: float,
    ) -> None:
        self.session = session
        self.adapter = adapter
        self.stream = stream
        self.clock = clock
        self.started = clock()
        self.until = self.started + deadline_s

    async def run(self, url: str, body: bytes, headers: Mapping[str, str]) -> AttemptResult:
        stream = self.stream
        try:
            outcome = await self._first_token(url, body, headers)
            if outcome is None and stream.policy.mode == "buffered" and not stream.complete:
                outcome = await self._rest_of_answer()
        except BaseException:
            stream.close()  # cancelled: the caller left, so the provider must stop too
            raise
        if outcome is not None:
            stream.close()
            return AttemptResult(outcome)
        return AttemptResult(self._outcome(OutcomeKind.SUCCESS, status=200), stream=stream)

    def _outcome(
        self,
        kind: OutcomeKind,
        status: int | None = None,
        message: str | None = None,
        error_type: str | None = None,
    ) -> Outcome:
        latency_s = self.clock() - self.started
        return Outcome(kind, status, latency_s, message=message, error_type=error_type)

    async def _first_token(
        self, url: str, body: bytes, headers: Mapping[str, str]
    ) -> Outcome | None:
        limit_s = min(self.stream.policy.first_token_timeout_s, self.until - self.clock())
        try:
            async with asyncio.timeout(limit_s):
                response = await self.session.post(url, data=body, headers=headers)
                failure = await self._accept(response)
                if failure is not None:
                    return failure
                return await self._read_until_started()
        except TimeoutError:
            return self._outcome(
                OutcomeKind.TIMEOUT, message=f"no first token within {limit_s:.3g} s"
            )
        except (aiohttp.ClientError, OSError) as exc:
            return self._outcome(OutcomeKind.CONNECTION_ERROR, message=_describe(exc))
        except SSEProtocolError as exc:
            return self._outcome(OutcomeKind.MALFORMED_RESPONSE, message=str(exc))

    async def _accept(self, response: aiohttp.ClientResponse) -> Outcome | None:
        """An error status as its outcome; a JSON answer (stream ignored) taken whole."""
        status = response.status
        if not 200 <= status < 300:
            body = await response.read()
            response.release()
            outcome = self.adapter.classify_error(status, response.headers, body)
            return dataclasses.replace(outcome, latency_s=self.clock() - self.started)
        if response.content_type == _EVENT_STREAM:
            self.stream.attach(response)
            return None
        # Some OpenAI-compatible servers ignore "stream": the whole answer still serves.
        body = await response.read()
        response.release()
        try:
            completion = self.adapter.parse_success(body)
        except MalformedResponse as exc:
            return self._outcome(OutcomeKind.MALFORMED_RESPONSE, status, message=str(exc))
        self.stream.take_whole(completion)
        return None

    async def _read_until_started(self) -> Outcome | None:
        stream = self.stream
        while not stream.started:
            failure = await self._read_once()
            if failure is not None:
                return failure
            if not stream.started and (stream.eof or stream.upstream_done):
                return self._ended_early("before the first token")
        return None

    async def _rest_of_answer(self) -> Outcome | None:
        """Buffered mode: read to the end, each wait bounded by the idle limit and deadline."""
        stream = self.stream
        idle_s = stream.policy.idle_timeout_s
        while not stream.complete:
            left_s = self.until - self.clock()
            wait_s = min(idle_s, left_s)
            try:
                async with asyncio.timeout(max(wait_s, 0.0)):
                    failure = await self._read_once()
            except TimeoutError:
                what = "stalled" if wait_s == idle_s else "hit the request deadline"
                return self._outcome(
                    OutcomeKind.TIMEOUT,
                    message=f"the stream {what} after {stream.content_chunks} chunks "
                    f"(no bytes for {wait_s:.3g} s)",
                )
            except (aiohttp.ClientError, OSError) as exc:
                return self._outcome(OutcomeKind.CONNECTION_ERROR, message=_describe(exc))
            except SSEProtocolError as exc:
                return self._outcome(OutcomeKind.MALFORMED_RESPONSE, message=str(exc))
            if failure is not None:
                return failure
            if not stream.complete and (stream.eof or stream.upstream_done):
                return self._ended_early(f"after {stream.content_chunks} chunks, unfinished")
        return None

    async def _read_once(self) -> Outcome | None:
        stream = self.stream
        for event in await stream.read():
            error = stream.absorb(event)
            if error is not None:
                return self._error_event(error)
            if isinstance(event, TextDelta):
                stream.backlog.append(event.text)
        return None

    def _error_event(self, error: UpstreamError) -> Outcome:
        return self._outcome(
            error.kind,
            message=f"error event in the stream: {error.message}",
            error_type=error.error_type,
        )

    def _ended_early(self, when: str) -> Outcome:
        # A cut connection and a terminator with no finish both mean: no usable answer here.
        kind = OutcomeKind.CONNECTION_ERROR if self.stream.eof else OutcomeKind.MALFORMED_RESPONSE
        return self._outcome(kind, message=f"the stream ended {when}")


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
