"""Hedged requests: when a first attempt is slow, a second one races it on the next
deployment, and the first answer wins.

Opt-in per route (``hedge_after_s``). Only a request's first attempt is hedged (for a
stream: before its first token, since the attempt ends at the commit point), only when
another deployment would admit the call, and only within the route's hedge budget (a share
of its recent requests). The loser is cancelled, which closes its upstream request (the
provider stops too); the attempt log records it as ``hedge_lost``. When both fail, the
usual walk goes on from there, after a backoff, with both attempts counted.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from orchestrator.engine.journal import event, ms
from orchestrator.engine.results import EngineResult, Success
from shared.models import AttemptRecord

if TYPE_CHECKING:
    from orchestrator.decision import Decision, Outcome
    from orchestrator.engine.loop import _Run
    from orchestrator.routing.budget import ShareBudget
    from orchestrator.routing.router import Deployment

HEDGE_LOST: Final = "hedge_lost"
"""The attempt log's outcome for the attempt a faster one beat (cancelled upstream)."""
CANCEL: Final = "cancel"
"""... and its decision."""

Step = EngineResult | tuple["Outcome", "Decision"]


async def hedged_start(
    run: _Run, deployments: Sequence[Deployment], after_s: float, budget: ShareBudget
) -> EngineResult | None:
    """The request's first attempt, hedged when slow: a result, or None to walk on."""
    model = run.request.model
    budget.deposit(model)
    primary = deployments[0]
    breakers = run.engine.breakers
    if not breakers.admit(primary.key):
        return None  # the walk skips it as usual
    started = run.engine.clock()
    first = asyncio.ensure_future(run._attempt(primary, run.next_attempt_number()))
    timer = asyncio.ensure_future(run.engine.sleep(after_s))
    await asyncio.wait({first, timer}, return_when=asyncio.FIRST_COMPLETED)
    timer.cancel()
    if first.done():
        return await run.settle_first(first.result(), primary)
    second = next((d for d in deployments[1:] if run._admissible(d)), None)
    if second is None or not budget.allows(model) or not breakers.admit(second.key):
        return await run.settle_first(await first, primary)
    budget.spend(model)
    event("hedge", second, after_ms=ms(run.engine.clock() - started), primary=primary.key)
    numbers = {primary.key: 1, second.key: run.next_attempt_number()}
    hedge = asyncio.ensure_future(run._attempt(second, numbers[second.key]))
    result = await _race(run, {first: primary, hedge: second}, primary, numbers)
    if result is None:
        run.attempts.sort(key=lambda record: record.attempt)
        if not await run.backoff_before_next(primary):
            return run._deadline_exceeded()
    return result


async def _race(
    run: _Run,
    racing: dict[asyncio.Future[Step], Deployment],
    primary: Deployment,
    numbers: dict[str, int],
) -> EngineResult | None:
    hedged = next(d for d in racing.values() if d is not primary)
    while racing:
        done, _ = await asyncio.wait(racing, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            deployment = racing.pop(task)
            step = task.result()
            if isinstance(step, tuple):
                run.settle_failed(step, deployment)  # the other may still answer
                continue
            await _cancel_losers(run, racing, numbers)
            if isinstance(step, Success):
                winner = "primary" if deployment is primary else "hedge"
                run.engine.observer.on_hedge(primary, hedged, winner)
                return _with_log(step, run)
            return step  # a final failure (the request itself was refused)
    run.engine.observer.on_hedge(primary, hedged, "neither")
    return None


async def _cancel_losers(
    run: _Run, racing: dict[asyncio.Future[Step], Deployment], numbers: dict[str, int]
) -> None:
    for task, deployment in racing.items():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        run.attempts.append(
            AttemptRecord(
                attempt=numbers[deployment.key],
                provider=deployment.provider.name,
                model=deployment.model,
                outcome=HEDGE_LOST,
                status=None,
                latency_ms=0.0,
                backoff_ms=0.0,
                error="a faster attempt answered first; this one was cancelled",
                decision=CANCEL,
            )
        )
        event("hedge_lost", deployment)
    racing.clear()


def _with_log(success: Success, run: _Run) -> Success:
    """The winner's result with every attempt of the race in the log, in attempt order."""
    ordered = tuple(sorted(run.attempts, key=lambda a: a.attempt))
    return Success(success.answer, success.deployment, ordered, success.total_latency_s)
