"""One attempt over the wire, plain or streamed: the only path a request takes upstream.

build (the deployment's adapter) -> send (the transport) -> the 2xx gate (an error answer
is classified by the adapter) -> a plain body parsed, or a stream read up to its commit
point (:mod:`orchestrator.streaming.commit`). Whatever goes wrong on the way, in our code
or on the wire, ends as an :class:`~orchestrator.decision.Outcome` through the one
exception map (:func:`~orchestrator.transport.errors.outcome_of`); only cancellation is
raised, so that a caller who left stops the work.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Mapping
from typing import Final

from orchestrator.decision import Outcome, OutcomeKind
from orchestrator.engine.results import AttemptCall, AttemptResult
from orchestrator.policies import STREAM_MODE_FIELD, StreamPolicy
from orchestrator.providers.base import MalformedResponse, ProviderAdapter
from orchestrator.providers.openai_embeddings import embeddings_request, parse_embeddings
from orchestrator.providers.registry import adapter_for
from orchestrator.redaction import Redactor
from orchestrator.routing.router import Deployment
from orchestrator.streaming import commit
from orchestrator.streaming.reader import MalformedHook, UpstreamStream
from orchestrator.transport.base import Transport, UpstreamAnswer, UpstreamRequest
from orchestrator.transport.connection import MAX_ERROR_BODY_BYTES
from orchestrator.transport.errors import outcome_of
from shared.embeddings import EmbeddingRequest
from shared.models import ChatRequest

_EVENT_STREAM: Final = "text/event-stream"


def stream_policy_for(request: ChatRequest, routes: Mapping[str, StreamPolicy]) -> StreamPolicy:
    """The route's stream policy, with the request's own ``stream_mode`` (validated) on top."""
    policy = routes.get(request.model) or StreamPolicy()
    mode = request.extra.get(STREAM_MODE_FIELD)
    if mode is not None and mode != policy.mode:
        return dataclasses.replace(policy, mode=mode)
    return policy


class WireUpstream:
    """The engine's upstream in production: adapters, the transport, the commit point.

    For a stream the engine passes the whole time left in the request deadline as
    ``timeout_s``; the first-token limit (and in buffered mode the idle limit) apply inside.
    """

    def __init__(
        self,
        transport: Transport,
        clock: Callable[[], float],
        stream_policies: Mapping[str, StreamPolicy],
        on_malformed: MalformedHook,
        redactor: Redactor | None = None,
    ) -> None:
        self._transport = transport
        self._clock = clock
        self._stream_policies = stream_policies
        self._on_malformed = on_malformed
        self._redactor = redactor or Redactor(())

    async def attempt(self, call: AttemptCall) -> AttemptResult:
        result = await self._attempt(call)
        outcome = result.outcome
        if outcome.ok:
            return result
        # What a provider says goes back out: never with a key it echoed.
        redact = self._redactor.text
        return AttemptResult(
            dataclasses.replace(
                outcome, message=redact(outcome.message), error_type=redact(outcome.error_type)
            )
        )

    async def _attempt(self, call: AttemptCall) -> AttemptResult:
        deployment, request, timeout_s = call.deployment, call.request, call.timeout_s
        started = self._clock()
        adapter = adapter_for(deployment.provider.wire_format)
        if isinstance(request, EmbeddingRequest):
            return await self._embeddings(adapter, call, request, started)
        stream = self._new_stream(adapter, deployment, request) if request.stream else None
        limit_s = timeout_s
        if stream is not None:
            limit_s = min(stream.policy.first_token_timeout_s, timeout_s)
        try:
            upstream = adapter.build_request(
                request, deployment, call.request_id, call.attempt_number
            )
            if stream is not None:
                return await self._stream(
                    adapter,
                    request=request,
                    upstream=upstream,
                    stream=stream,
                    started=started,
                    limit_s=limit_s,
                    timeout_s=timeout_s,
                )
            answer = await self._transport.send(upstream, timeout_s)
            return await self._plain(adapter, answer, request, started)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            what = "no first token" if stream is not None else "no answer"
            timeout_message = f"{what} within {limit_s:.3g} s"
            elapsed_s = self._clock() - started
            return AttemptResult(outcome_of(exc, elapsed_s, deployment.key, timeout_message))

    async def _embeddings(
        self,
        adapter: ProviderAdapter,
        call: AttemptCall,
        request: EmbeddingRequest,
        started: float,
    ) -> AttemptResult:
        """An embeddings call: one plain answer, classified and parsed as chat's are."""
        deployment = call.deployment
        try:
            upstream = embeddings_request(request, deployment, call.request_id, call.attempt_number)
            answer = await self._transport.send(upstream, call.timeout_s)
            failure = await self._gate(adapter, answer, started)
            if failure is not None:
                return AttemptResult(failure)
            latency_s = self._clock() - started
            try:
                parsed = parse_embeddings(await answer.read(), request)
            except MalformedResponse as exc:
                outcome = Outcome(OutcomeKind.MALFORMED_RESPONSE, answer.status, latency_s)
                return AttemptResult(dataclasses.replace(outcome, message=str(exc)))
            return AttemptResult(Outcome(OutcomeKind.SUCCESS, answer.status, latency_s), parsed)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            elapsed_s = self._clock() - started
            message = f"no answer within {call.timeout_s:.3g} s"
            return AttemptResult(outcome_of(exc, elapsed_s, deployment.key, message))

    def _policy(self, request: ChatRequest) -> StreamPolicy:
        return stream_policy_for(request, self._stream_policies)

    async def _plain(
        self, adapter: ProviderAdapter, answer: UpstreamAnswer, request: ChatRequest, started: float
    ) -> AttemptResult:
        failure = await self._gate(adapter, answer, started)
        if failure is not None:
            return AttemptResult(failure)
        latency_s = self._clock() - started
        try:
            completion = adapter.parse_success(await answer.read(), request)
        except MalformedResponse as exc:
            outcome = Outcome(OutcomeKind.MALFORMED_RESPONSE, answer.status, latency_s)
            return AttemptResult(dataclasses.replace(outcome, message=str(exc)))
        return AttemptResult(Outcome(OutcomeKind.SUCCESS, answer.status, latency_s), completion)

    async def _gate(
        self, adapter: ProviderAdapter, answer: UpstreamAnswer, started: float
    ) -> Outcome | None:
        """The one 2xx gate: an error answer as the adapter classifies it; None for a 2xx."""
        status = answer.status
        if 200 <= status < 300:
            return None
        body = await answer.read(MAX_ERROR_BODY_BYTES)
        outcome = adapter.classify_error(status, answer.headers, body)
        return dataclasses.replace(outcome, latency_s=self._clock() - started)

    def _new_stream(
        self, adapter: ProviderAdapter, deployment: Deployment, request: ChatRequest
    ) -> UpstreamStream:
        translator = adapter.stream_translator(request)
        return UpstreamStream(
            translator, deployment, self._policy(request), self._on_malformed, request.n
        )

    async def _stream(
        self,
        adapter: ProviderAdapter,
        *,
        request: ChatRequest,
        upstream: UpstreamRequest,
        stream: UpstreamStream,
        started: float,
        limit_s: float,
        timeout_s: float,
    ) -> AttemptResult:
        """Open the stream and read it to its commit point: the first token within
        ``limit_s``; in buffered mode the rest within the request's ``timeout_s``."""
        until = started + timeout_s

        def elapsed() -> float:
            return self._clock() - started

        def left_s() -> float:
            return until - self._clock()

        try:
            async with asyncio.timeout(limit_s):
                answer = await self._transport.send(upstream, limit_s, stream=True)
                failure = await self._gate(adapter, answer, started)
                if failure is None:
                    await self._open(adapter, answer, stream, request)
                    failure = await commit.read_until_started(stream, elapsed)
            if failure is None and stream.policy.mode == "buffered" and not stream.complete:
                failure = await commit.read_rest(stream, elapsed, left_s)
        except BaseException:
            stream.close()  # cancelled or failed: the provider must stop too
            raise
        if failure is not None:
            stream.close()
            return AttemptResult(failure)
        return AttemptResult(Outcome(OutcomeKind.SUCCESS, 200, elapsed()), stream)

    async def _open(
        self,
        adapter: ProviderAdapter,
        answer: UpstreamAnswer,
        stream: UpstreamStream,
        request: ChatRequest,
    ) -> None:
        content_type = answer.headers.get("Content-Type", "")
        if content_type.partition(";")[0].strip().lower() == _EVENT_STREAM:
            stream.attach(answer)
            return
        # Some OpenAI-compatible servers ignore "stream": the whole answer still serves.
        stream.take_whole(adapter.parse_success(await answer.read(), request))
