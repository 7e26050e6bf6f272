"""One HTTP call to a provider: the per-attempt timeout and the outcome classification.

Whatever happens on the wire ends as an :class:`~orchestrator.policy.Outcome` value (and
the parsed completion on success); no exception escapes to the engine except
cancellation, which must propagate so a caller that went away stops the work.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

import aiohttp

from orchestrator.policy import Outcome, OutcomeKind
from orchestrator.provider_pool import ProviderPool
from orchestrator.providers.base import (
    Completion,
    MalformedResponse,
    ProviderAdapter,
    UpstreamRequest,
)
from shared.values import value

if TYPE_CHECKING:
    from orchestrator.streaming.reader import UpstreamStream


@value
class AttemptResult:
    outcome: Outcome
    completion: Completion | None = None
    # A streamed answer read up to its commit point, still open (orchestrator.streaming).
    stream: UpstreamStream | None = None


async def call_provider(
    pool: ProviderPool,
    adapter: ProviderAdapter,
    request: UpstreamRequest,
    timeout_s: float,
    clock: Callable[[], float],
) -> AttemptResult:
    """POST ``request``; give up after ``timeout_s``; classify whatever came back."""
    started = clock()
    try:
        answer = await pool.post(request.url, request.headers, request.body, timeout_s)
    except TimeoutError:
        return _failed(OutcomeKind.TIMEOUT, started, clock, f"no answer within {timeout_s:.3g} s")
    except OSError as exc:  # ProviderConnectionError included
        return _failed(OutcomeKind.CONNECTION_ERROR, started, clock, _describe(exc))
    latency_s = clock() - started
    status = answer.status
    if 200 <= status < 300:
        try:
            completion = adapter.parse_success(answer.body)
        except MalformedResponse as exc:
            return AttemptResult(
                Outcome(OutcomeKind.MALFORMED_RESPONSE, status, latency_s, message=str(exc))
            )
        return AttemptResult(Outcome(OutcomeKind.SUCCESS, status, latency_s), completion)
    outcome = adapter.classify_error(status, answer.headers, answer.body)
    return AttemptResult(dataclasses.replace(outcome, latency_s=latency_s))


def provider_session() -> aiohttp.ClientSession:
    """The pooled aiohttp session for streamed provider calls: one per app, connections reused.

    Timeouts are the engine's (per attempt, inside the request deadline), not the session's.
    """
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, limit_per_host=0, keepalive_timeout=30.0),
        timeout=aiohttp.ClientTimeout(total=None),
        skip_auto_headers=("User-Agent",),
    )


def _failed(
    kind: OutcomeKind, started: float, clock: Callable[[], float], message: str
) -> AttemptResult:
    return AttemptResult(Outcome(kind, None, clock() - started, message=message))


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
