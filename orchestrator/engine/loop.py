"""The reliability loop: attempts, decisions, backoff and one deadline per request.

A request walks its route plan in rounds. Within a round each deployment is tried in
order; a retryable failure (5xx, connection error, a short 429) retries the same
deployment after a wait, up to ``max_attempts_per_deployment``; anything that says "go
elsewhere" (timeout, long 429, auth error) fails over at once, without waiting. When the
round is over and deployments remain, the next round starts after a jittered backoff.
No wait is taken for a deployment whose breaker would refuse it. Every wait and every
attempt fits inside the request's deadline, and the total number of attempts is capped.
Each attempt's :class:`~orchestrator.decision.Outcome` is recorded once in the breaker
registry and read by the journey log and the attempt records alike; the loop returns a
value, success or failure, and raises only when cancelled.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Final, Protocol

from orchestrator.breaker import BreakerRegistry, BreakerState
from orchestrator.decision import (
    NOT_SERVED_BY_FAULT_OF_THE_REQUEST,
    Action,
    Decision,
    Outcome,
    OutcomeKind,
    decide,
)
from orchestrator.decision import full_jitter_backoff_s as backoff_s
from orchestrator.engine import failures
from orchestrator.engine.hedge import hedged_start
from orchestrator.engine.journal import event, first_try_level, log, ms
from orchestrator.engine.results import (
    AttemptCall,
    AttemptResult,
    EngineResult,
    Failure,
    RouteChoice,
    Success,
)
from orchestrator.policies import DeadlinePolicy, RetryPolicy
from orchestrator.requests import RoutedRequest
from orchestrator.routing.budget import ShareBudget
from orchestrator.routing.router import Deployment, RoutePlan, Router
from orchestrator.streaming.reader import UpstreamStream
from shared.models import AttemptRecord

SKIPPED_UNSUPPORTED: Final = "skipped_unsupported"
"""The attempt log's outcome for a deployment the plan left out (it cannot honour the request)."""
SKIP: Final = "skip"
"""... and its decision."""


class Upstream(Protocol):
    """Makes one attempt; never raises but for cancellation."""

    async def attempt(self, call: AttemptCall) -> AttemptResult: ...


class EngineObserver(Protocol):
    """Reads the same outcome values as the breaker and the logs (metrics, journeys)."""

    def on_attempt(self, deployment: Deployment, outcome: Outcome, decision: Decision) -> None: ...

    def on_wait(self, deployment: Deployment | None, wait_s: float, reason: str) -> None: ...

    def on_failover(self, left: Deployment, to: Deployment) -> None: ...

    def on_route(self, model: str, plan: RoutePlan) -> None:
        """A route strategy (other than priority) chose the plan's order."""
        ...

    def on_probe(self, deployment: Deployment, kind: str) -> None:
        """An open deployment was probed: ``early`` (every deployment of a request open)."""
        ...

    def on_budget_refusal(self, deployment: Deployment) -> None:
        """The retry budget kept a retry off ``deployment``."""
        ...

    def on_hedge(self, primary: Deployment, hedge: Deployment, winner: str) -> None:
        """A hedged first attempt ended: ``winner`` is primary, hedge or neither."""
        ...

    def on_result(self, request: RoutedRequest, request_id: str, result: EngineResult) -> None: ...


class NullObserver:
    def on_attempt(self, deployment: Deployment, outcome: Outcome, decision: Decision) -> None:
        pass

    def on_wait(self, deployment: Deployment | None, wait_s: float, reason: str) -> None:
        pass

    def on_failover(self, left: Deployment, to: Deployment) -> None:
        pass

    def on_probe(self, deployment: Deployment, kind: str) -> None:
        pass

    def on_budget_refusal(self, deployment: Deployment) -> None:
        pass

    def on_hedge(self, primary: Deployment, hedge: Deployment, winner: str) -> None:
        pass

    def on_route(self, model: str, plan: RoutePlan) -> None:
        pass

    def on_result(self, request: RoutedRequest, request_id: str, result: EngineResult) -> None:
        pass


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
        self.retry_budget = (
            ShareBudget(
                retry.budget_ratio, retry.budget_min_retries_per_s, retry.budget_window_s, clock
            )
            if retry.budget_ratio is not None
            else None
        )

    async def run(
        self, request: RoutedRequest, request_id: str, deadline_s: float | None = None
    ) -> EngineResult:
        """``deadline_s`` (the caller's own, when it sent one) caps the configured deadline."""
        limit_s = self.deadline.request_deadline_s
        if deadline_s is not None and deadline_s < limit_s:
            limit_s = deadline_s
        result = await _Run(self, request, request_id, limit_s).execute()
        self.observer.on_result(request, request_id, result)
        return result


class _Run:
    """One request's walk through its plan; all per-request mutable state lives here."""

    def __init__(
        self, engine: Engine, request: RoutedRequest, request_id: str, deadline_s: float
    ) -> None:
        self.engine = engine
        self.request = request
        self.request_id = request_id
        self.started = engine.clock()
        self.deadline_s = deadline_s
        self.deadline_at = self.started + deadline_s
        self.attempts: list[AttemptRecord] = []
        self.attempt_count = 0  # attempts started (a hedge runs beside another)
        self.attempts_on: dict[str, int] = {}
        self.out_for_request: set[str] = set()
        self.waited_before_next_s = 0.0
        self.last: tuple[Outcome, Deployment] | None = None

    async def execute(self) -> EngineResult:
        plan = self.engine.router.plan(self.request)
        result = await self._walk(plan)
        if plan.skipped_unable:
            result = dataclasses.replace(result, skipped=_skip_records(plan))
        if plan.strategy != "priority" and plan.deployments:
            order = tuple(d.key for d in plan.deployments)
            result = dataclasses.replace(result, route=RouteChoice(plan.strategy, order, plan.why))
        return result

    async def _walk(self, plan: RoutePlan) -> EngineResult:
        if not plan.deployments:
            probed = await self._probe_while_open(plan)
            if isinstance(probed, Success):
                return probed
            now = self.engine.clock()
            refused = failures.unavailable(plan, self.request.model, now, self._elapsed_s())
            return dataclasses.replace(refused, attempts=tuple(self.attempts))
        if plan.strategy != "priority":
            order = [d.key for d in plan.deployments]
            event("route_order", None, strategy=plan.strategy, order=order, why=plan.why)
            self.engine.observer.on_route(self.request.model, plan)
        deployments = plan.deployments
        hedge = self.engine.router.hedges.get(self.request.model)
        if hedge is not None and len(deployments) > 1:
            hedged = await hedged_start(self, deployments, *hedge)
            if hedged is not None:
                return hedged
        round_index = 0
        while True:
            for position, deployment in enumerate(deployments):
                if deployment.key in self.out_for_request:
                    continue
                result = await self._serve(deployment)
                if result is not None:
                    return result
                self._log_failover(deployment, deployments[position + 1 :])
            if self._budget_spent() or not any(self._admissible(d) for d in deployments):
                return self._exhausted()
            wait_s = backoff_s(round_index, self.engine.retry.backoff, self.engine.random)
            round_index += 1
            if not await self._waited(wait_s, "next_round", None):
                return self._deadline_exceeded()

    async def _probe_while_open(self, plan: RoutePlan) -> EngineResult | None:
        """Every deployment refusing: one of them may take this request as its early probe
        (one per deployment per interval); the rest of such requests get 503 at once."""
        breakers = self.engine.breakers
        for deployment, _ in plan.skipped_open:
            if breakers.early_probe(deployment.key):
                event("early_probe", deployment)
                self.engine.observer.on_probe(deployment, "early")
                step = await self._attempt(deployment)
                return None if isinstance(step, tuple) else step
        return None

    async def _serve(self, deployment: Deployment) -> EngineResult | None:
        """Attempt ``deployment`` until it answers (a result) or says go elsewhere (None)."""
        while True:
            if self._budget_spent():
                return self._exhausted()
            if not self._within_budget(deployment):
                return None
            breakers = self.engine.breakers
            probing = breakers.get(deployment.key).state is BreakerState.HALF_OPEN
            if not breakers.admit(deployment.key):
                self.out_for_request.add(deployment.key)
                state = breakers.get(deployment.key).state
                event("skipped_breaker_open", deployment, state=str(state))
                return None
            step = await self._attempt(deployment)
            if not isinstance(step, tuple):
                return step
            outcome, decision = step
            if decision.action is not Action.RETRY_SAME:
                self._leave(deployment, outcome, decision)
                return None
            if probing:
                # A recovering deployment is judged on many callers' probes; this caller's
                # retries go elsewhere rather than wait on it.
                self.out_for_request.add(deployment.key)
                return None
            if (
                self._spent_on(deployment)
                or not self._admissible(deployment)
                or not self._budget_allows_retry(deployment)
            ):
                # Its breaker just opened (or it had its share): no wait for a skip.
                self.out_for_request.add(deployment.key)
                return None
            wait_s = self._retry_wait_s(outcome, decision, deployment)
            if self.engine.clock() + wait_s >= self.deadline_at:
                return None  # no time to wait here: let another deployment have a go
            if not await self._waited(wait_s, "retry_same", deployment):
                return self._deadline_exceeded()

    def next_attempt_number(self) -> int:
        self.attempt_count += 1
        return self.attempt_count

    async def _attempt(
        self, deployment: Deployment, attempt_number: int | None = None
    ) -> EngineResult | tuple[Outcome, Decision]:
        """One attempt: a final result, or the outcome and what to do about it."""
        remaining_s = self.deadline_at - self.engine.clock()
        if remaining_s <= 0:
            self.engine.breakers.release(deployment.key)
            return self._deadline_exceeded()
        if attempt_number is None:
            attempt_number = self.next_attempt_number()
        self.attempts_on[deployment.key] = self.attempts_on.get(deployment.key, 0) + 1
        timeout_s = (
            remaining_s
            if self.request.stream
            else min(deployment.provider.attempt_timeout_s, remaining_s)
        )
        level = first_try_level(attempt_number)
        if log.isEnabledFor(level):  # a first try's lines are off at INFO: skip their fields
            event(
                "attempt", deployment, level, attempt=attempt_number, timeout_s=round(timeout_s, 3)
            )
        health = self.engine.router.health
        health.started(deployment.key)
        try:
            call = AttemptCall(deployment, self.request, self.request_id, attempt_number, timeout_s)
            result = await self.engine.upstream.attempt(call)
        except asyncio.CancelledError:
            self.engine.breakers.release(deployment.key)  # the caller left: judge nothing
            health.ended(deployment.key, None, 0.0)
            raise
        outcome = result.outcome
        served = None if outcome.kind in NOT_SERVED_BY_FAULT_OF_THE_REQUEST else outcome.ok
        health.ended(deployment.key, served, outcome.latency_s)
        if not isinstance(result.answer, UpstreamStream):
            # A committed stream is judged by how it ends: the relay records it then.
            slow = deployment.is_slow(outcome.latency_s)
            self.engine.breakers.record(deployment.key, outcome.kind, slow)
        decision = decide(outcome, self.engine.retry)
        self._record(attempt_number, deployment, outcome, decision)
        self.engine.observer.on_attempt(deployment, outcome, decision)
        if result.answer is not None and decision.action is Action.RETURN:
            if log.isEnabledFor(level):
                latency_ms = ms(outcome.latency_s)
                event("success", deployment, level, attempt=attempt_number, latency_ms=latency_ms)
            return Success(result.answer, deployment, tuple(self.attempts), self._elapsed_s())
        event(
            "failed",
            deployment,
            attempt=attempt_number,
            error_kind=str(outcome.kind),
            status=outcome.status,
            error=outcome.message,
            decision=str(decision.action),
            latency_ms=ms(outcome.latency_s),
        )
        if decision.action is Action.STOP:
            return failures.rejected(outcome, deployment, tuple(self.attempts), self._elapsed_s())
        if self.engine.clock() >= self.deadline_at:
            return self._deadline_exceeded()
        return outcome, decision

    def _within_budget(self, deployment: Deployment) -> bool:
        """The retry budget's say (when there is one): a request's first attempt on a
        deployment deposits, each further one on it spends; a spent budget sends the
        request elsewhere (a failover is never a retry: it adds no load to a failing one)."""
        budget = self.engine.retry_budget
        if budget is None:
            return True
        if deployment.key not in self.attempts_on:
            budget.deposit(deployment.key)
            return True
        if budget.spend(deployment.key):
            return True
        self.out_for_request.add(deployment.key)
        event("retry_budget_spent", deployment)
        self.engine.observer.on_budget_refusal(deployment)
        return False

    def _budget_allows_retry(self, deployment: Deployment) -> bool:
        """A read, so no backoff is waited for a retry the budget would refuse."""
        budget = self.engine.retry_budget
        return budget is None or budget.allows(deployment.key)

    def _admissible(self, deployment: Deployment) -> bool:
        """Could ``deployment`` be attempted next? A read: no probe slot is taken."""
        if deployment.key in self.out_for_request:
            return False
        if deployment.key in self.attempts_on and not self._budget_allows_retry(deployment):
            return False
        return self.engine.breakers.get(deployment.key).would_admit()

    def _retry_wait_s(self, outcome: Outcome, decision: Decision, deployment: Deployment) -> float:
        if outcome.kind is OutcomeKind.RATE_LIMITED:
            return decision.wait_s  # the provider said how long; guessing shorter just fails
        retry_index = self.attempts_on[deployment.key] - 1
        return backoff_s(retry_index, self.engine.retry.backoff, self.engine.random)

    def _leave(self, deployment: Deployment, outcome: Outcome, decision: Decision) -> None:
        """Fail over from ``deployment``; decide whether a later round may come back to it."""
        if decision.exclude_for_s is not None:
            self.engine.router.exclude(deployment.key, self.engine.clock() + decision.exclude_for_s)
        if decision.action is Action.FAILOVER_LARGER_CONTEXT:
            too_small = deployment.context_window_tokens
            for candidate in self.engine.router.plan(self.request).deployments:
                if candidate.context_window_tokens <= too_small:
                    self.out_for_request.add(candidate.key)
            return
        # A timeout may be a blip, and a 429 that named no wait a passing burst: skip it now,
        # but a later round (after its backoff, the brief cool-down) may try it again.
        comes_back = outcome.kind is OutcomeKind.TIMEOUT or (
            outcome.kind is OutcomeKind.RATE_LIMITED and decision.exclude_for_s is None
        )
        if not comes_back or self._spent_on(deployment):
            self.out_for_request.add(deployment.key)

    async def _waited(self, wait_s: float, reason: str, deployment: Deployment | None) -> bool:
        """Wait ``wait_s``; False (without waiting) when the deadline would pass first."""
        if wait_s >= self.deadline_at - self.engine.clock():
            return False
        event("backoff", deployment, reason=reason, wait_ms=ms(wait_s))
        self.engine.observer.on_wait(deployment, wait_s, reason)
        await self.engine.sleep(wait_s)
        self.waited_before_next_s += wait_s
        return True

    def _revise_last(self, action: Action) -> None:
        """The attempt log says what was done: a retry that did not happen is not a retry."""
        last = self.attempts[-1]
        if last.decision == Action.RETRY_SAME:
            self.attempts[-1] = dataclasses.replace(last, decision=str(action))

    def _spent_on(self, deployment: Deployment) -> bool:
        limit = self.engine.retry.max_attempts_per_deployment
        return self.attempts_on.get(deployment.key, 0) >= limit

    def _budget_spent(self) -> bool:
        return self.attempt_count >= self.engine.retry.max_attempts_total

    def settle_failed(self, step: tuple[Outcome, Decision], deployment: Deployment) -> None:
        """A failed attempt outside the usual walk (a hedge race): leave the deployment
        unless the decision is to retry it."""
        outcome, decision = step
        if decision.action is not Action.RETRY_SAME:
            self._leave(deployment, outcome, decision)

    async def settle_first(
        self, step: EngineResult | tuple[Outcome, Decision], deployment: Deployment
    ) -> EngineResult | None:
        """An unhedged first attempt, as the walk would take it: a result, or None to walk
        on (after the backoff of a retry on the same deployment)."""
        if not isinstance(step, tuple):
            return step
        self.settle_failed(step, deployment)
        outcome, decision = step
        if decision.action is Action.RETRY_SAME and self._admissible(deployment):
            wait_s = self._retry_wait_s(outcome, decision, deployment)
            if not await self._waited(wait_s, "retry_same", deployment):
                return self._deadline_exceeded()
        return None

    async def backoff_before_next(self, deployment: Deployment) -> bool:
        """After a race both attempts lost: the first retry's backoff, then walk on."""
        wait_s = backoff_s(0, self.engine.retry.backoff, self.engine.random)
        return await self._waited(wait_s, "retry_same", deployment)

    def _record(
        self, attempt_number: int, deployment: Deployment, outcome: Outcome, decision: Decision
    ) -> None:
        if self.last is not None and self.last[1] is not deployment:
            self._revise_last(Action.FAILOVER)  # it moved on instead of retrying
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
        self.last = (outcome, deployment)

    def _log_failover(self, left: Deployment, rest: tuple[Deployment, ...]) -> None:
        following = next((d for d in rest if d.key not in self.out_for_request), None)
        if following is not None and not self._budget_spent():
            event("failover", left, to_provider=following.provider.name, to_model=following.model)
            self.engine.observer.on_failover(left, following)

    def _elapsed_s(self) -> float:
        return self.engine.clock() - self.started

    def _exhausted(self) -> Failure:
        if self.attempts:
            self._revise_last(Action.STOP)
        return failures.exhausted(
            self.last, tuple(self.attempts), self._elapsed_s(), self.request.model
        )

    def _deadline_exceeded(self) -> Failure:
        if self.attempts:
            self._revise_last(Action.STOP)
        return failures.deadline_exceeded(
            self.last, tuple(self.attempts), self._elapsed_s(), self.deadline_s
        )


def _skip_records(plan: RoutePlan) -> tuple[AttemptRecord, ...]:
    """The attempt log's account of the deployments the request's needs ruled out."""
    records = []
    for deployment, need in plan.skipped_unable:
        reason = f"cannot honour {need.why} ('{need.param}'): no '{need.capability}' capability"
        event("skipped_unsupported", deployment, param=need.param, capability=str(need.capability))
        records.append(
            AttemptRecord(
                attempt=0,
                provider=deployment.provider.name,
                model=deployment.model,
                outcome=SKIPPED_UNSUPPORTED,
                status=None,
                latency_ms=0.0,
                backoff_ms=0.0,
                error=reason,
                decision=SKIP,
            )
        )
    return tuple(records)
