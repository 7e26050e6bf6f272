"""The reliability loop: attempts, decisions, backoff and one deadline per request.

A request walks its route plan in rounds. Within a round each deployment is tried in
order; a retryable failure (5xx, connection error, a short 429) retries the same
deployment after a wait, up to ``max_attempts_per_deployment``; anything that says "go
elsewhere" (timeout, long 429, auth error) fails over at once, without waiting. When the
round is over and deployments remain, the next round starts after a jittered backoff.
Every wait and every attempt fits inside the request's deadline, and the total number of
attempts is capped. Each attempt's :class:`~orchestrator.policy.Outcome` feeds the
breaker, the journey log and the attempt records alike.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final, Protocol

from orchestrator.breaker import BreakerRegistry, CircuitBreaker
from orchestrator.config import DeadlinePolicy
from orchestrator.observability import JOURNEY_LOGGER
from orchestrator.policy import (
    DECISION_TABLE,
    Action,
    Decision,
    Outcome,
    OutcomeKind,
    RetryPolicy,
    decide,
    full_jitter_backoff_s,
)
from orchestrator.provider_pool import ProviderPool
from orchestrator.providers.base import Completion, ProviderAdapter, adapter_for
from orchestrator.router import Deployment, RoutePlan, Router
from orchestrator.upstream import AttemptResult, call_provider
from shared.models import AttemptRecord, ChatRequest
from shared.values import value

if TYPE_CHECKING:
    from orchestrator.streaming.reader import UpstreamStream

log: Final = logging.getLogger(JOURNEY_LOGGER)


class Upstream(Protocol):
    """One attempt. For a ``stream: true`` request ``timeout_s`` is all the time left in the
    request deadline: the upstream applies its own first-token limit inside it."""

    async def attempt(
        self,
        deployment: Deployment,
        request: ChatRequest,
        request_id: str,
        attempt_number: int,
        timeout_s: float,
    ) -> AttemptResult: ...


class EngineObserver(Protocol):
    """Reads the same outcome values as the breaker and the logs (metrics, journeys)."""

    def on_attempt(self, deployment: Deployment, outcome: Outcome, decision: Decision) -> None: ...

    def on_wait(self, deployment: Deployment | None, wait_s: float, reason: str) -> None: ...

    def on_failover(self, left: Deployment, to: Deployment) -> None: ...

    def on_result(self, request: ChatRequest, request_id: str, result: EngineResult) -> None: ...


class NullObserver:
    def on_attempt(self, deployment: Deployment, outcome: Outcome, decision: Decision) -> None:
        pass

    def on_wait(self, deployment: Deployment | None, wait_s: float, reason: str) -> None:
        pass

    def on_failover(self, left: Deployment, to: Deployment) -> None:
        pass

    def on_result(self, request: ChatRequest, request_id: str, result: EngineResult) -> None:
        pass


class HttpUpstream:
    """The real upstream: the app's connection pool and the deployment's wire adapter."""

    def __init__(self, pool: ProviderPool, clock: Callable[[], float]) -> None:
        self._pool = pool
        self._clock = clock
        self._adapters: dict[str, ProviderAdapter] = {}

    async def attempt(
        self,
        deployment: Deployment,
        request: ChatRequest,
        request_id: str,
        attempt_number: int,
        timeout_s: float,
    ) -> AttemptResult:
        adapter = self._adapter(deployment.provider.wire_format)
        upstream_request = adapter.build_request(request, deployment, request_id, attempt_number)
        return await call_provider(self._pool, adapter, upstream_request, timeout_s, self._clock)

    def _adapter(self, wire_format: str) -> ProviderAdapter:
        # adapter_for imports the adapter module on each call: once per format is enough.
        adapter = self._adapters.get(wire_format)
        if adapter is None:
            adapter = self._adapters[wire_format] = adapter_for(wire_format)
        return adapter


@value
class Success:
    """``completion`` for a plain answer; ``stream`` (open, past its commit point) otherwise."""

    completion: Completion | None
    deployment: Deployment
    attempts: tuple[AttemptRecord, ...]
    total_latency_s: float
    stream: UpstreamStream | None = None


@value
class Failure:
    status: int
    message: str
    code: str
    attempts: tuple[AttemptRecord, ...]
    total_latency_s: float
    error_type: str = "server_error"
    param: str | None = None
    retry_after_s: float | None = None
    provider_error: dict[str, Any] | None = None


EngineResult = Success | Failure


class _Stop(Exception):
    """Ends the request's loop with a final answer (success or failure)."""

    def __init__(self, result: EngineResult) -> None:
        super().__init__()
        self.result = result


class Engine:
    def __init__(
        self,
        *,
        router: Router,
        breakers: BreakerRegistry,
        upstream: Upstream,
        retry: RetryPolicy,
        deadline: DeadlinePolicy,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        random: Callable[[], float],
        observer: EngineObserver | None = None,
    ) -> None:
        self.observer: EngineObserver = observer or NullObserver()
        self.router = router
        self.breakers = breakers
        self.upstream = upstream
        self.retry = retry
        self.deadline = deadline
        self.clock = clock
        self.sleep = sleep
        self.random = random

    async def run(self, request: ChatRequest, request_id: str) -> EngineResult:
        result = await _Run(self, request, request_id).execute()
        self.observer.on_result(request, request_id, result)
        return result


class _Run:
    """One request's walk through its plan; all per-request mutable state lives here."""

    def __init__(self, engine: Engine, request: ChatRequest, request_id: str) -> None:
        self.engine = engine
        self.request = request
        self.request_id = request_id
        self.started = engine.clock()
        self.deadline_at = self.started + engine.deadline.request_deadline_s
        self.attempts: list[AttemptRecord] = []
        self.attempts_on: dict[str, int] = {}
        self.out_for_request: set[str] = set()
        self.waited_before_next_s = 0.0
        self.last_outcome: Outcome | None = None
        self.last_deployment: Deployment | None = None

    async def execute(self) -> EngineResult:
        plan = self.engine.router.plan(self.request)
        if not plan.deployments:
            return self._unavailable(plan)
        try:
            await self._rounds(plan.deployments)
        except _Stop as stop:
            return stop.result
        return self._exhausted()

    async def _rounds(self, deployments: tuple[Deployment, ...]) -> None:
        round_index = 0
        while True:
            for position, deployment in enumerate(deployments):
                if deployment.key in self.out_for_request:
                    continue
                await self._serve(deployment)
                self._log_failover(deployment, deployments[position + 1 :])
            remaining = [d for d in deployments if d.key not in self.out_for_request]
            if not remaining or self._budget_spent():
                return
            wait_s = full_jitter_backoff_s(
                round_index, self.engine.retry.backoff, self.engine.random
            )
            round_index += 1
            await self._wait(wait_s, reason="next_round", deployment=None)

    async def _serve(self, deployment: Deployment) -> None:
        """Attempt ``deployment`` until it answers (raises _Stop) or says go elsewhere."""
        while True:
            if self._budget_spent():
                raise _Stop(self._exhausted())
            breaker = self.engine.breakers.get(deployment.key)
            if not breaker.before_call():
                self.out_for_request.add(deployment.key)
                _event("skipped_breaker_open", deployment, state=str(breaker.state))
                return
            outcome, decision = await self._attempt(deployment, breaker)
            if decision.action is Action.RETRY_SAME:
                if (
                    self.attempts_on[deployment.key]
                    >= self.engine.retry.max_attempts_per_deployment
                ):
                    self.out_for_request.add(deployment.key)
                    return
                wait_s = self._retry_wait_s(outcome, decision, deployment)
                if self.engine.clock() + wait_s >= self.deadline_at:
                    return  # no time to wait here: let another deployment have a go
                await self._wait(wait_s, reason="retry_same", deployment=deployment)
                continue
            self._leave(deployment, outcome, decision)
            return

    async def _attempt(
        self, deployment: Deployment, breaker: CircuitBreaker
    ) -> tuple[Outcome, Decision]:
        remaining_s = self.deadline_at - self.engine.clock()
        if remaining_s <= 0:
            raise _Stop(self._deadline_exceeded())
        attempt_number = len(self.attempts) + 1
        self.attempts_on[deployment.key] = self.attempts_on.get(deployment.key, 0) + 1
        timeout_s = (
            remaining_s
            if self.request.stream
            else min(deployment.provider.attempt_timeout_s, remaining_s)
        )
        level = _first_try_level(attempt_number)
        if log.isEnabledFor(level):  # a first try's lines are off at INFO: skip their fields
            _event(
                "attempt", deployment, level, attempt=attempt_number, timeout_s=round(timeout_s, 3)
            )
        try:
            result = await self.engine.upstream.attempt(
                deployment, self.request, self.request_id, attempt_number, timeout_s
            )
        except asyncio.CancelledError:
            breaker.on_neutral()  # the caller left: free a half-open probe slot, judge nothing
            raise
        outcome = result.outcome
        _update_breaker(breaker, outcome)
        decision = decide(outcome, self.engine.retry)
        self._record(attempt_number, deployment, outcome, decision)
        self.engine.observer.on_attempt(deployment, outcome, decision)
        answered = result.completion is not None or result.stream is not None
        if answered and decision.action is Action.RETURN:
            if log.isEnabledFor(level):
                latency_ms = _ms(outcome.latency_s)
                _event("success", deployment, level, attempt=attempt_number, latency_ms=latency_ms)
            raise _Stop(self._success(result, deployment))
        _event(
            "failed",
            deployment,
            attempt=attempt_number,
            error_kind=str(outcome.kind),
            status=outcome.status,
            error=outcome.message,
            decision=str(decision.action),
            latency_ms=_ms(outcome.latency_s),
        )
        if decision.action is Action.STOP:
            raise _Stop(self._rejected(outcome, deployment))
        if self.engine.clock() >= self.deadline_at:
            raise _Stop(self._deadline_exceeded())
        return outcome, decision

    def _retry_wait_s(self, outcome: Outcome, decision: Decision, deployment: Deployment) -> float:
        if outcome.kind is OutcomeKind.RATE_LIMITED:
            return decision.wait_s  # the provider said how long; guessing shorter just fails
        retry_index = self.attempts_on[deployment.key] - 1
        return full_jitter_backoff_s(retry_index, self.engine.retry.backoff, self.engine.random)

    def _leave(self, deployment: Deployment, outcome: Outcome, decision: Decision) -> None:
        """Fail over from ``deployment``; decide whether a later round may come back to it."""
        if decision.exclude_for_s is not None:
            self.engine.router.exclude(deployment.key, self.engine.clock() + decision.exclude_for_s)
        if decision.action is Action.FAILOVER_LARGER_CONTEXT:
            too_small = deployment.context_window_tokens
            for key, candidate in self._plan_keys().items():
                if candidate.context_window_tokens <= too_small:
                    self.out_for_request.add(key)
            return
        # A timeout may be a blip: skip it now, but a later round may try it again.
        if outcome.kind is not OutcomeKind.TIMEOUT or self._spent_on(deployment):
            self.out_for_request.add(deployment.key)

    def _plan_keys(self) -> dict[str, Deployment]:
        return {d.key: d for d in self.engine.router.plan(self.request).deployments}

    async def _wait(self, wait_s: float, *, reason: str, deployment: Deployment | None) -> None:
        remaining_s = self.deadline_at - self.engine.clock()
        if wait_s >= remaining_s:
            raise _Stop(self._deadline_exceeded())
        _event("backoff", deployment, reason=reason, wait_ms=_ms(wait_s))
        self.engine.observer.on_wait(deployment, wait_s, reason)
        await self.engine.sleep(wait_s)
        self.waited_before_next_s += wait_s

    def _spent_on(self, deployment: Deployment) -> bool:
        limit = self.engine.retry.max_attempts_per_deployment
        return self.attempts_on.get(deployment.key, 0) >= limit

    def _budget_spent(self) -> bool:
        return len(self.attempts) >= self.engine.retry.max_attempts_total

    def _record(
        self, attempt_number: int, deployment: Deployment, outcome: Outcome, decision: Decision
    ) -> None:
        self.attempts.append(
            AttemptRecord(
                attempt=attempt_number,
                provider=deployment.provider.name,
                model=deployment.model,
                outcome=str(outcome.kind),
                status=outcome.status,
                latency_ms=outcome.latency_s * 1000.0,
                backoff_ms=self.waited_before_next_s * 1000.0,
                error=outcome.message,
                decision=str(decision.action),
            )
        )
        self.waited_before_next_s = 0.0
        self.last_outcome = outcome
        self.last_deployment = deployment

    def _log_failover(self, left: Deployment, rest: tuple[Deployment, ...]) -> None:
        following = next((d for d in rest if d.key not in self.out_for_request), None)
        if following is not None and not self._budget_spent():
            _event("failover", left, to_provider=following.provider.name, to_model=following.model)
            self.engine.observer.on_failover(left, following)

    def _elapsed_s(self) -> float:
        return self.engine.clock() - self.started

    def _success(self, result: AttemptResult, deployment: Deployment) -> Success:
        attempts = tuple(self.attempts)
        return Success(result.completion, deployment, attempts, self._elapsed_s(), result.stream)

    def _rejected(self, outcome: Outcome, deployment: Deployment) -> Failure:
        """A provider said the request itself is wrong: pass its reason back, do not retry."""
        status = outcome.status or 400
        code = "content_policy_violation" if outcome.kind is OutcomeKind.CONTENT_POLICY else None
        return Failure(
            status=status,
            message=f"{deployment.provider.name} rejected the request: {outcome.message}",
            code=code or outcome.error_type or "provider_rejected_request",
            attempts=tuple(self.attempts),
            total_latency_s=self._elapsed_s(),
            error_type="invalid_request_error",
            provider_error=_provider_error(outcome, deployment),
        )

    def _exhausted(self) -> Failure:
        last, where = self.last_outcome, self.last_deployment
        _event("exhausted", where, attempts=len(self.attempts))
        if last is None or where is None:
            return self._unavailable_now()
        status, code = _FINAL_STATUS.get(last.kind, (502, "upstream_failed"))
        return Failure(
            status=status,
            message=(
                f"All {len(self.attempts)} attempts failed; the last, to {where.provider.name} "
                f"({where.model}), ended in {last.kind}: {last.message or last.status}"
            ),
            code=code,
            attempts=tuple(self.attempts),
            total_latency_s=self._elapsed_s(),
            retry_after_s=last.retry_after_s,
            provider_error=_provider_error(last, where),
        )

    def _deadline_exceeded(self) -> Failure:
        _event("deadline_exceeded", self.last_deployment, attempts=len(self.attempts))
        deadline_s = self.engine.deadline.request_deadline_s
        last = self.last_outcome
        return Failure(
            status=504,
            message=(
                f"The request deadline of {deadline_s:g} s passed after "
                f"{len(self.attempts)} attempts"
                + (f"; the last ended in {last.kind}" if last is not None else "")
            ),
            code="deadline_exceeded",
            attempts=tuple(self.attempts),
            total_latency_s=self._elapsed_s(),
            provider_error=(
                _provider_error(last, self.last_deployment)
                if last is not None and self.last_deployment is not None
                else None
            ),
        )

    def _unavailable(self, plan: RoutePlan) -> Failure:
        now = self.engine.clock()
        if not plan.skipped_open:
            return self._unavailable_now(plan)
        earliest = min(probe_at for _, probe_at in (*plan.skipped_open, *plan.skipped_excluded))
        names = ", ".join(d.key for d, _ in plan.skipped_open)
        _event("all_breakers_open", None, deployments=names)
        return Failure(
            status=503,
            message=f"Every deployment for '{self.request.model}' is unavailable "
            f"(circuit open: {names}); the next probe is due in {max(0.0, earliest - now):.1f} s",
            code="all_breakers_open",
            attempts=(),
            total_latency_s=self._elapsed_s(),
            retry_after_s=max(0.0, earliest - now),
        )

    def _unavailable_now(self, plan: RoutePlan | None = None) -> Failure:
        """Nothing to try: every deployment is rate-limited out (or refused its breaker)."""
        retry_after_s = 1.0
        if plan is not None and plan.skipped_excluded:
            earliest = min(until for _, until in plan.skipped_excluded)
            retry_after_s = max(0.0, earliest - self.engine.clock())
        return Failure(
            status=503,
            message=f"No deployment for '{self.request.model}' can take the request now "
            "(rate-limited or drained)",
            code="no_deployment_available",
            attempts=tuple(self.attempts),
            total_latency_s=self._elapsed_s(),
            retry_after_s=retry_after_s,
        )


_FINAL_STATUS: Final[dict[OutcomeKind, tuple[int, str]]] = {
    OutcomeKind.TIMEOUT: (504, "upstream_timeout"),
    OutcomeKind.RATE_LIMITED: (503, "upstream_rate_limited"),
    OutcomeKind.OVERLOADED: (503, "upstream_overloaded"),
    OutcomeKind.CONTEXT_LENGTH: (400, "context_length_exceeded"),
}


def _update_breaker(breaker: CircuitBreaker, outcome: Outcome) -> None:
    rule = DECISION_TABLE[outcome.kind]
    if rule.heals_breaker:
        breaker.on_success()
    elif rule.trips_breaker:
        breaker.on_failure()
    else:
        breaker.on_neutral()


def _provider_error(outcome: Outcome, deployment: Deployment) -> dict[str, Any]:
    return {
        "provider": deployment.provider.name,
        "model": deployment.model,
        "status": outcome.status,
        "kind": str(outcome.kind),
        "type": outcome.error_type,
        "message": outcome.message,
    }


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 3)


def _event(
    event: str, deployment: Deployment | None, level: int = logging.INFO, **fields: object
) -> None:
    if not log.isEnabledFor(level):
        return
    if deployment is not None:
        fields["provider"] = deployment.provider.name
        fields["model"] = deployment.model
    log.log(level, event, extra={"event": event, **fields})


def _first_try_level(attempt_number: int) -> int:
    """A first attempt that just works is told by the access line alone; the rest at INFO."""
    return logging.DEBUG if attempt_number == 1 else logging.INFO
