"""The request flow both wire formats share: key, body, fault, answer, then one log entry.

Order matters and mirrors the real providers: the key is checked before the body, and the
body before any fault, so a bad request never consumes a scripted step.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

import orjson
from aiohttp import web

from mock_provider.answers import Answer, make_answer
from mock_provider.attempt_log import AttemptEntry
from mock_provider.connection import ConnectionDropped, drop_connection
from mock_provider.dialect import (
    JSON_CONTENT_TYPE,
    ChatCall,
    Dialect,
    ProviderError,
    RateLimit,
    Reply,
)
from mock_provider.faults import ERROR_KINDS, Fault, ProviderFaults
from mock_provider.logs import ACCESS_LOGGER
from mock_provider.state import STATE_KEY, MockState
from mock_provider.streaming import send_stream, stream_steps
from mock_provider.tools import calls_for, json_answer
from shared.models import FieldError

NOMINAL_RPM_LIMIT: Final = 500
"""The request limit a 429 reports when no rpm_limit is set (the fault is not a real limit)."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_access_log = logging.getLogger(ACCESS_LOGGER)


def chat_handler(dialect: Dialect) -> Handler:
    """The aiohttp handler serving ``dialect``'s chat endpoint."""

    async def handle(request: web.Request) -> web.StreamResponse:
        return await _Exchange(request, dialect, request.app[STATE_KEY]).run()

    return handle


def _attempt_number(headers: Mapping[str, str]) -> int | None:
    raw = headers.get("X-Attempt-Number")
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def _model_hint(body: object) -> str | None:
    """The model named by a body that may be invalid, for the log."""
    model = body.get("model") if isinstance(body, dict) else None
    return model if isinstance(model, str) else None


def rate_limit_for(fault: Fault, faults: ProviderFaults) -> RateLimit:
    """What a 429 for ``fault`` says about the limit: headers and reset time."""
    params = faults.plan.params
    limit = faults.plan.rpm_limit or NOMINAL_RPM_LIMIT
    if fault.retry_after_s is not None:  # the real limiter said how long
        return RateLimit(limit, 0, float(fault.retry_after_s), retry_after_s=fault.retry_after_s)
    if fault.kind == "429_retry_after":
        return RateLimit(limit, 0, float(params.retry_after_s), retry_after_s=params.retry_after_s)
    if fault.kind == "429_retry_after_ms":
        return RateLimit(
            limit, 0, params.retry_after_ms / 1000, retry_after_ms=params.retry_after_ms
        )
    return RateLimit(limit, 0, float(params.retry_after_s))


def answer_for(call: ChatCall, choice: int = 0) -> Answer:
    """Choice ``choice``'s answer: the deterministic text (each choice its own), or JSON."""
    prompt = call.prompt if choice == 0 else f"{call.prompt}\n#{choice}"
    answer = make_answer(prompt, call.max_tokens)
    if call.json_mode or call.json_schema is not None:
        return Answer(json_answer(answer.text, call.json_schema), truncated=False)
    return answer


def wait_before_answer_s(fault: Fault, faults: ProviderFaults, stream: bool) -> float:
    """Seconds to wait before the answer's first byte: jitter, plus the delay faults."""
    params = faults.plan.params
    wait_s = faults.latency_jitter_s()
    if fault.kind == "delay":
        wait_s += params.response_delay_s
    elif fault.kind == "slow_first_token" and not stream:
        # Without a stream the first token is the whole answer: the answer is late.
        wait_s += params.first_token_delay_s
    return wait_s


@dataclass(slots=True)
class _Exchange:
    """One provider request: what it asked, what it got, logged once when it ends."""

    request: web.Request
    dialect: Dialect
    state: MockState
    seq: int = 0
    arrived: float = 0.0
    started: float = field(default_factory=time.perf_counter)
    model: str | None = None
    stream: bool = False
    fault: str | None = None
    status: int | None = None
    disconnected: bool = False

    async def run(self) -> web.StreamResponse:
        self.seq = self.state.log.next_seq()
        self.arrived = self.state.clock.wall()
        try:
            return await self._serve()
        except ConnectionDropped:
            # aiohttp treats a cancelled handler as a premature disconnect: no answer, no noise.
            raise asyncio.CancelledError from None
        except (asyncio.CancelledError, ConnectionResetError) as exc:
            self.disconnected = True
            raise asyncio.CancelledError from exc
        finally:
            self._record()

    async def _serve(self) -> web.StreamResponse:
        dialect, state = self.dialect, self.state
        headers = dialect.response_headers(self.request.headers)
        denied = dialect.authenticate(self.request.headers, state.api_key(dialect.provider))
        if denied is not None:
            return self._error(denied, headers)
        call = await self._read_call()
        if isinstance(call, ProviderError):
            return self._error(call, headers)
        faults = state.faults[dialect.provider]
        fault = faults.next_fault(state.clock.monotonic())
        self.fault = fault.kind
        return await self._answer(faults, fault, call, headers)

    async def _read_call(self) -> ChatCall | ProviderError:
        try:
            raw = await self.request.read()
        except web.HTTPRequestEntityTooLarge as exc:
            return ProviderError(413, exc.text or "Request too large", "request_too_large")
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return self.dialect.bad_request(
                None, f"We could not parse the JSON body of your request: {exc}", "invalid_json"
            )
        self.model = _model_hint(body)
        try:
            call = self.dialect.parse_call(body)
        except FieldError as exc:
            return self.dialect.bad_request(exc.param, exc.message, exc.code)
        self.stream = call.stream
        return call

    async def _answer(
        self, faults: ProviderFaults, fault: Fault, call: ChatCall, headers: Mapping[str, str]
    ) -> web.StreamResponse:
        kind, params = fault.kind, faults.plan.params
        if kind == "reset":
            drop_connection(self.request, reset=True)
        if kind == "timeout":
            await self._wait(params.timeout_duration_s)
            drop_connection(self.request, reset=False)
        wait_s = wait_before_answer_s(fault, faults, call.stream)
        if wait_s > 0:
            await self._wait(wait_s)
        if kind in ERROR_KINDS:
            error = self.dialect.fault_error(kind, call, rate_limit_for(fault, faults))
            return self._error(error, headers)
        reply = Reply(
            call=call,
            answer=answer_for(call),
            message_id=self.dialect.new_message_id(),
            created=int(self.state.clock.wall()),
            tool_calls=calls_for(call.tool_use, call.prompt, self.dialect.tool_id_prefix),
            more_answers=tuple(answer_for(call, choice) for choice in range(1, call.choices)),
        )
        if kind == "malformed_json":
            body = self.dialect.success_body(reply)
            return self._json(200, body[: len(body) // 2], headers)
        if not call.stream:
            return self._json(200, self.dialect.success_body(reply), headers)
        interval_s = params.token_interval_s
        if interval_s is None:
            interval_s = self.state.config.token_interval_s
        steps = stream_steps(self.dialect.stream_frames(reply), kind, params, interval_s)
        self.status = 200
        return await send_stream(self.request, headers, steps)

    async def _wait(self, seconds: float) -> None:
        """Sleep, then notice a client that left meanwhile (when handlers are not cancelled)."""
        await asyncio.sleep(seconds)
        transport = self.request.transport
        if transport is None or transport.is_closing():
            raise ConnectionResetError("the client went away")

    def _json(self, status: int, body: bytes, headers: Mapping[str, str]) -> web.Response:
        self.status = status
        return web.Response(
            status=status, body=body, headers=headers, content_type=JSON_CONTENT_TYPE
        )

    def _error(self, error: ProviderError, headers: Mapping[str, str]) -> web.Response:
        return self._json(
            error.status, self.dialect.error_body(error), {**headers, **error.headers}
        )

    def _record(self) -> None:
        headers = self.request.headers
        entry = AttemptEntry(
            seq=self.seq,
            time=self.arrived,
            provider=self.dialect.provider,
            path=self.request.path,
            model=self.model,
            stream=self.stream,
            request_id=headers.get("X-Request-ID"),
            attempt=_attempt_number(headers),
            fault=self.fault,
            status=self.status,
            disconnected=self.disconnected,
        )
        self.state.log.add(entry)
        if _access_log.isEnabledFor(logging.INFO):
            duration_ms = round((time.perf_counter() - self.started) * 1e3, 3)
            _access_log.info("request", extra={**entry.to_json(), "duration_ms": duration_ms})
