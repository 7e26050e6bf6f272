"""The engine's final failures, each built from what the request went through.

Every one says what happened in words a caller can act on, carries the attempt log, and
(where a provider had the last word) that provider's own error as ``provider_error``.
"""

from __future__ import annotations

from typing import Any, Final

from orchestrator.decision import Outcome, OutcomeKind
from orchestrator.engine.journal import event
from orchestrator.engine.results import Failure
from orchestrator.routing.router import Deployment, RoutePlan
from shared.models import AttemptRecord

FINAL_STATUS: Final[dict[OutcomeKind, tuple[int, str]]] = {
    OutcomeKind.TIMEOUT: (504, "upstream_timeout"),
    OutcomeKind.RATE_LIMITED: (503, "upstream_rate_limited"),
    OutcomeKind.OVERLOADED: (503, "upstream_overloaded"),
    OutcomeKind.CONTEXT_LENGTH: (400, "context_length_exceeded"),
}
"""The last outcome's kind -> the caller's status and code; anything else is a 502."""

Attempts = tuple[AttemptRecord, ...]
Last = tuple[Outcome, Deployment] | None  # the last attempt's outcome and deployment


def provider_error(outcome: Outcome, deployment: Deployment) -> dict[str, Any]:
    return {
        "provider": deployment.provider.name,
        "model": deployment.model,
        "status": outcome.status,
        "kind": str(outcome.kind),
        "type": outcome.error_type,
        "message": outcome.message,
    }


def rejected(
    outcome: Outcome, deployment: Deployment, attempts: Attempts, elapsed_s: float
) -> Failure:
    """A provider said the request itself is wrong: pass its reason back, do not retry."""
    code = "content_policy_violation" if outcome.kind is OutcomeKind.CONTENT_POLICY else None
    return Failure(
        status=outcome.status or 400,
        message=f"{deployment.provider.name} rejected the request: {outcome.message}",
        code=code or outcome.error_type or "provider_rejected_request",
        attempts=attempts,
        total_latency_s=elapsed_s,
        error_type="invalid_request_error",
        provider_error=provider_error(outcome, deployment),
    )


def exhausted(last: Last, attempts: Attempts, elapsed_s: float, model: str) -> Failure:
    event("exhausted", last[1] if last else None, attempts=len(attempts))
    if last is None:
        return unavailable_now(model, attempts, elapsed_s, 1.0)
    outcome, where = last
    status, code = FINAL_STATUS.get(outcome.kind, (502, "upstream_failed"))
    return Failure(
        status=status,
        message=(
            f"All {len(attempts)} attempts failed; the last, to {where.provider.name} "
            f"({where.model}), ended in {outcome.kind}: {outcome.message or outcome.status}"
        ),
        code=code,
        attempts=attempts,
        total_latency_s=elapsed_s,
        retry_after_s=outcome.retry_after_s,
        provider_error=provider_error(outcome, where),
    )


def deadline_exceeded(
    last: Last, attempts: Attempts, elapsed_s: float, deadline_s: float
) -> Failure:
    event("deadline_exceeded", last[1] if last else None, attempts=len(attempts))
    ended = f"; the last ended in {last[0].kind}" if last is not None else ""
    return Failure(
        status=504,
        message=(
            f"The request deadline of {deadline_s:g} s passed after {len(attempts)} attempts"
            + ended
        ),
        code="deadline_exceeded",
        attempts=attempts,
        total_latency_s=elapsed_s,
        provider_error=provider_error(*last) if last is not None else None,
    )


def all_open(plan: RoutePlan, model: str, now: float, elapsed_s: float) -> Failure:
    earliest = min(probe_at for _, probe_at in (*plan.skipped_open, *plan.skipped_excluded))
    names = ", ".join(d.key for d, _ in plan.skipped_open)
    event("all_breakers_open", None, deployments=names)
    return Failure(
        status=503,
        message=f"Every deployment for '{model}' is unavailable "
        f"(circuit open: {names}); the next probe is due in {max(0.0, earliest - now):.1f} s",
        code="all_breakers_open",
        attempts=(),
        total_latency_s=elapsed_s,
        retry_after_s=max(0.0, earliest - now),
    )


def unavailable_now(
    model: str, attempts: Attempts, elapsed_s: float, retry_after_s: float
) -> Failure:
    """Nothing to try: every deployment is rate-limited out (or refused its breaker)."""
    return Failure(
        status=503,
        message=f"No deployment for '{model}' can take the request now (rate-limited or drained)",
        code="no_deployment_available",
        attempts=attempts,
        total_latency_s=elapsed_s,
        retry_after_s=retry_after_s,
    )


def unavailable(plan: RoutePlan, model: str, now: float, elapsed_s: float) -> Failure:
    """The plan had nothing to try at all: breakers open, or every deployment excluded."""
    if plan.skipped_open:
        return all_open(plan, model, now, elapsed_s)
    retry_after_s = 1.0
    if plan.skipped_excluded:
        retry_after_s = max(0.0, min(until for _, until in plan.skipped_excluded) - now)
    return unavailable_now(model, (), elapsed_s, retry_after_s)
