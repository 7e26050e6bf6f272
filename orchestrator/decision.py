"""What each attempt's outcome means, as data: the outcome value, the decision table and
backoff.

The engine never asks "was it a 429?". Every attempt ends as an :class:`Outcome`; the
engine asks :func:`decide` what to do next, and the breaker registry reads the same
table's breaker column (:attr:`Rule.breaker`) to record it. Logs and metrics read the
same value. Adding an outcome kind is one row here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from orchestrator.policies import BackoffPolicy, RetryPolicy
from shared.values import value


class OutcomeKind(StrEnum):
    SUCCESS = "success"
    SERVER_ERROR = "server_error"  # 500, 502, 503, 504
    OVERLOADED = "overloaded"  # Anthropic's 529
    CONNECTION_ERROR = "connection_error"  # refused, reset, TLS, closed before an answer
    MALFORMED_RESPONSE = "malformed_response"  # 2xx whose body is not the provider's shape
    TIMEOUT = "timeout"  # the per-attempt timeout fired (or the provider said 408)
    RATE_LIMITED = "rate_limited"  # 429
    CONTEXT_LENGTH = "context_length_exceeded"
    CONTENT_POLICY = "content_policy"
    CLIENT_ERROR = "client_error"  # other 4xx: our request is wrong; no one else will fix it
    AUTH_ERROR = "auth_error"  # 401/403: this deployment's key is wrong, another may work
    # An exception nobody foresaw inside the attempt (a bug, a library's new error): this
    # deployment cannot serve the request as things stand, another one may.
    UNEXPECTED_ERROR = "unexpected_error"


class Action(StrEnum):
    RETURN = "return"  # hand the answer to the caller
    RETRY_SAME = "retry_same"  # the same deployment again, after a wait
    FAILOVER = "failover"  # the next deployment in the plan, at once
    FAILOVER_LARGER_CONTEXT = "failover_larger_context"  # a later deployment with a larger window
    STOP = "stop"  # give up: the error is the caller's answer


class BreakerEffect(StrEnum):
    HEAL = "heal"  # a healthy answer: closes a half-open breaker, resets the failure count
    TRIP = "trip"  # the provider failed: counts towards opening
    NEUTRAL = "neutral"  # says nothing about the provider's health (our request was wrong)


@value
class Outcome:
    """The result of one attempt: what the policy, breaker, logs and metrics all read."""

    kind: OutcomeKind
    status: int | None = None
    latency_s: float = 0.0
    retry_after_s: float | None = None
    message: str | None = None  # the provider's own error message, passed back on failure
    error_type: str | None = None  # the provider's error type/code, for logs and pass-back

    @property
    def ok(self) -> bool:
        return self.kind is OutcomeKind.SUCCESS


@dataclass(frozen=True, slots=True)
class Rule:
    action: Action
    breaker: BreakerEffect

    @property
    def trips_breaker(self) -> bool:
        return self.breaker is BreakerEffect.TRIP

    @property
    def heals_breaker(self) -> bool:
        return self.breaker is BreakerEffect.HEAL


_HEAL, _TRIP, _NEUTRAL = BreakerEffect.HEAL, BreakerEffect.TRIP, BreakerEffect.NEUTRAL

DECISION_TABLE: Final[Mapping[OutcomeKind, Rule]] = MappingProxyType(
    {
        OutcomeKind.SUCCESS: Rule(Action.RETURN, _HEAL),
        OutcomeKind.SERVER_ERROR: Rule(Action.RETRY_SAME, _TRIP),
        OutcomeKind.OVERLOADED: Rule(Action.RETRY_SAME, _TRIP),
        OutcomeKind.CONNECTION_ERROR: Rule(Action.RETRY_SAME, _TRIP),
        OutcomeKind.MALFORMED_RESPONSE: Rule(Action.RETRY_SAME, _TRIP),
        # A silent provider is likely to stay silent: never re-hit it within the request.
        OutcomeKind.TIMEOUT: Rule(Action.FAILOVER, _TRIP),
        # Refined by Retry-After in decide(): short -> wait and retry the same deployment.
        # A 429 says "busy", not "broken": it feeds the cool-down, never the breaker.
        OutcomeKind.RATE_LIMITED: Rule(Action.FAILOVER, _NEUTRAL),
        OutcomeKind.CONTEXT_LENGTH: Rule(Action.FAILOVER_LARGER_CONTEXT, _NEUTRAL),
        OutcomeKind.CONTENT_POLICY: Rule(Action.STOP, _NEUTRAL),
        OutcomeKind.CLIENT_ERROR: Rule(Action.STOP, _NEUTRAL),
        OutcomeKind.AUTH_ERROR: Rule(Action.FAILOVER, _NEUTRAL),
        # Likely to happen again on this deployment: go elsewhere, and let the breaker know.
        OutcomeKind.UNEXPECTED_ERROR: Rule(Action.FAILOVER, _TRIP),
    }
)


NOT_SERVED_BY_FAULT_OF_THE_REQUEST: Final = frozenset(
    {
        OutcomeKind.CLIENT_ERROR,
        OutcomeKind.CONTEXT_LENGTH,
        OutcomeKind.CONTENT_POLICY,
        OutcomeKind.AUTH_ERROR,
    }
)
"""Outcomes that say nothing about how well a provider serves (for stats and success
rates): the request (or the deployment's key) was wrong. A 429 is not among them: it leaves
the breaker alone, but the provider did not serve."""


@value
class Decision:
    action: Action
    wait_s: float = 0.0  # how long to wait before the next attempt on the same deployment
    exclude_for_s: float | None = None  # keep this deployment out of rotation this long


def decide(outcome: Outcome, policy: RetryPolicy) -> Decision:
    """Look the outcome up in :data:`DECISION_TABLE`, refining a 429 by its Retry-After."""
    rule = DECISION_TABLE[outcome.kind]
    if outcome.kind is OutcomeKind.RATE_LIMITED:
        retry_after = outcome.retry_after_s
        if retry_after is not None and retry_after <= policy.short_retry_after_max_s:
            return Decision(Action.RETRY_SAME, wait_s=retry_after)
        return Decision(Action.FAILOVER, exclude_for_s=retry_after)
    return _PLAIN_DECISIONS[rule.action]


# Values, so one shared instance per action serves every attempt that needs no wait.
_PLAIN_DECISIONS: Final = MappingProxyType({action: Decision(action) for action in Action})


def full_jitter_backoff_s(
    retry_index: int, policy: BackoffPolicy, random: Callable[[], float]
) -> float:
    """Capped exponential backoff with full jitter.

    ``wait = U(0, 1) * min(cap_s, base_s * multiplier ** retry_index)``, where
    ``retry_index`` counts from 0 for the first retry and ``random()`` returns a float
    in [0, 1). Full jitter spreads retries of many clients evenly over the window
    (AWS Architecture Blog, "Exponential Backoff And Jitter").
    """
    if retry_index < 0:
        raise ValueError(f"retry_index={retry_index} must be >= 0")
    # min() before pow overflow: cap the exponent once the ceiling is reached.
    ceiling = policy.cap_s
    if policy.base_s > 0 and policy.multiplier > 1:
        try:
            growth = policy.base_s * policy.multiplier ** min(retry_index, 64)
        except OverflowError:  # a multiplier so large that the cap was passed long before
            growth = policy.cap_s
        ceiling = min(policy.cap_s, growth)
    elif policy.multiplier == 1:
        ceiling = min(policy.cap_s, policy.base_s)
    else:
        ceiling = 0.0
    return random() * ceiling
