"""Fault plans as data, and the per-provider state that turns a plan into one fault a request.

A :class:`FaultPlan` is immutable: it says *what* may go wrong (probabilities, a script,
"fail the next N", an outage window, an rpm limit) and with which parameters. The progress
through a plan (the script position, how many "fail next" are left, when the outage ends,
the limiter's window) lives in :class:`ProviderFaults`, one per provider per app, driven by
an injected clock and a seeded :class:`random.Random` so runs are reproducible.

Precedence when several modes are set (first match wins; a mode not reached is not consumed):
outage window -> script step -> fail-next -> rpm limiter -> probabilities -> the default kind.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Final

from mock_provider.limiter import SlidingWindowLimiter

PROVIDERS: Final = ("openai", "anthropic")

STREAM_KINDS: Final = frozenset(
    {
        "stream_cut",
        "stream_cut_tool_arguments",
        "stream_stall",
        "stream_malformed_event",
        "stream_no_done",
    }
)
"""Faults that only make sense mid-stream; a non-streaming request gets a normal answer."""

ERROR_KINDS: Final = frozenset(
    {
        "429",
        "429_retry_after",
        "429_retry_after_ms",
        "500",
        "502",
        "503",
        "529",
        "context_length",
        "content_policy",
    }
)
"""Faults answered with an error status and the provider's error body."""

FAULT_KINDS: Final = frozenset(
    {"ok", "timeout", "delay", "reset", "malformed_json", "slow_first_token"}
    | STREAM_KINDS
    | ERROR_KINDS
)

DEFAULT_TIMEOUT_DURATION_S: Final = 30.0
DEFAULT_RETRY_AFTER_S: Final = 1
DEFAULT_RETRY_AFTER_MS: Final = 1000
DEFAULT_FIRST_TOKEN_DELAY_S: Final = 5.0
DEFAULT_STREAM_CUT_AFTER_TOKENS: Final = 5
DEFAULT_STALL_AFTER_TOKENS: Final = 5
DEFAULT_STALL_S: Final = 30.0
DEFAULT_MALFORMED_EVENT_AFTER_TOKENS: Final = 3
DEFAULT_FAIL_NEXT_FAULT: Final = "500"
DEFAULT_OUTAGE_FAULT: Final = "503"
RPM_WINDOW_S: Final = 60.0


@dataclass(frozen=True, slots=True)
class FaultParams:
    """How the faults behave; each field maps to the control key in :data:`PARAM_KEYS`."""

    response_delay_s: float = 0.0
    timeout_duration_s: float = DEFAULT_TIMEOUT_DURATION_S
    retry_after_s: int = DEFAULT_RETRY_AFTER_S
    retry_after_ms: int = DEFAULT_RETRY_AFTER_MS
    latency_jitter_s: float = 0.0
    first_token_delay_s: float = DEFAULT_FIRST_TOKEN_DELAY_S
    stream_cut_after_tokens: int = DEFAULT_STREAM_CUT_AFTER_TOKENS
    stall_after_tokens: int = DEFAULT_STALL_AFTER_TOKENS
    stall_s: float = DEFAULT_STALL_S
    malformed_event_after_tokens: int = DEFAULT_MALFORMED_EVENT_AFTER_TOKENS
    # None: the server's --token-interval-s applies.
    token_interval_s: float | None = None


PARAM_KEYS: Final[Mapping[str, str]] = {
    "response_delay_s": "response_delay_seconds",
    "timeout_duration_s": "timeout_duration_seconds",
    "retry_after_s": "retry_after_seconds",
    "retry_after_ms": "retry_after_ms",
    "latency_jitter_s": "latency_jitter_seconds",
    "first_token_delay_s": "first_token_delay_seconds",
    "stream_cut_after_tokens": "stream_cut_after_tokens",
    "stall_after_tokens": "stall_after_tokens",
    "stall_s": "stall_seconds",
    "malformed_event_after_tokens": "malformed_event_after_tokens",
    "token_interval_s": "token_interval_seconds",
}
"""Dataclass field -> the control API's key (the API keeps the seed's ``*_seconds`` names)."""


@dataclass(frozen=True, slots=True)
class FailNext:
    count: int
    fault: str = DEFAULT_FAIL_NEXT_FAULT


@dataclass(frozen=True, slots=True)
class Outage:
    duration_s: float
    fault: str = DEFAULT_OUTAGE_FAULT


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """What may go wrong for one provider. The default plan is healthy."""

    probabilities: tuple[tuple[str, float], ...] = ()
    script: tuple[str, ...] = ()
    fail_next: FailNext | None = None
    outage: Outage | None = None
    rpm_limit: int | None = None
    params: FaultParams = field(default_factory=FaultParams)

    @property
    def is_healthy(self) -> bool:
        return self == HEALTHY_PLAN

    @property
    def default_kind(self) -> str:
        """The kind for a request no other mode claimed.

        The seed's ``response_delay_seconds`` slowed every answer; that still holds unless
        the plan names "delay" itself, in which case only those requests are slow.
        """
        if self.params.response_delay_s > 0 and "delay" not in self.named_kinds():
            return "delay"
        return "ok"

    def named_kinds(self) -> frozenset[str]:
        kinds = {kind for kind, _ in self.probabilities} | set(self.script)
        if self.fail_next is not None:
            kinds.add(self.fail_next.fault)
        if self.outage is not None:
            kinds.add(self.outage.fault)
        return frozenset(kinds)

    def to_json(self) -> dict[str, Any]:
        return {
            "faults": dict(self.probabilities),
            "default_fault": self.default_kind,
            "script": list(self.script),
            "fail_next": (
                None
                if self.fail_next is None
                else {"count": self.fail_next.count, "fault": self.fail_next.fault}
            ),
            "outage": (
                None
                if self.outage is None
                else {"duration_seconds": self.outage.duration_s, "fault": self.outage.fault}
            ),
            "rpm_limit": self.rpm_limit,
            **{PARAM_KEYS[f.name]: getattr(self.params, f.name) for f in fields(FaultParams)},
        }


HEALTHY_PLAN: Final = FaultPlan()


@dataclass(frozen=True, slots=True)
class Fault:
    """The fault chosen for one request, and which mode chose it."""

    kind: str
    source: str
    # Set when the limiter rejected: the seconds until its window has room again.
    retry_after_s: int | None = None


HEALTHY: Final = Fault("ok", "healthy")


class ProviderFaults:
    """One provider's plan in force plus its progress through that plan."""

    def __init__(self, plan: FaultPlan, rng: random.Random, now: float) -> None:
        self.plan = plan
        self._healthy = plan.is_healthy
        self._rng = rng
        self._script_pos = 0
        self._fail_next_left = plan.fail_next.count if plan.fail_next else 0
        self._outage_until = now + plan.outage.duration_s if plan.outage else now
        self._limiter = (
            SlidingWindowLimiter(plan.rpm_limit, RPM_WINDOW_S)
            if plan.rpm_limit is not None
            else None
        )

    def next_fault(self, now: float) -> Fault:
        """Choose (and consume) the fault for the request arriving at ``now``."""
        if self._healthy:
            return HEALTHY
        plan = self.plan
        if plan.outage is not None and now < self._outage_until:
            return Fault(plan.outage.fault, "outage")
        if self._script_pos < len(plan.script):
            self._script_pos += 1
            return Fault(plan.script[self._script_pos - 1], "script")
        if plan.fail_next is not None and self._fail_next_left > 0:
            self._fail_next_left -= 1
            return Fault(plan.fail_next.fault, "fail_next")
        if self._limiter is not None:
            wait_s = self._limiter.try_acquire(now)
            if wait_s is not None:
                return Fault("429_retry_after", "rpm_limit", retry_after_s=wait_s)
        return self._draw()

    def _draw(self) -> Fault:
        if self.plan.probabilities:
            roll = self._rng.random()
            threshold = 0.0
            for kind, probability in self.plan.probabilities:
                threshold += probability
                if roll < threshold:
                    return Fault(kind, "probability")
        kind = self.plan.default_kind
        return HEALTHY if kind == "ok" else Fault(kind, "default")

    def latency_jitter_s(self) -> float:
        jitter = self.plan.params.latency_jitter_s
        return self._rng.uniform(0.0, jitter) if jitter > 0 else 0.0

    def rpm_remaining(self, now: float) -> int | None:
        return None if self._limiter is None else self._limiter.remaining(now)

    def snapshot(self, now: float) -> dict[str, Any]:
        plan = self.plan
        return {
            **plan.to_json(),
            "script_remaining": list(plan.script[self._script_pos :]),
            "fail_next_remaining": self._fail_next_left,
            "outage_remaining_seconds": max(0.0, self._outage_until - now),
            "rpm_remaining": self.rpm_remaining(now),
        }


def provider_rng(seed: int, provider: str) -> random.Random:
    """A random source per provider, so one provider's traffic never shifts the other's draws."""
    return random.Random(f"{seed}:{provider}")


class FaultBoard:
    """The plans in force for every provider, and the seed they draw from."""

    def __init__(self, seed: int, now: float) -> None:
        self._initial_seed = seed
        self.seed = seed
        self._providers = {
            p: ProviderFaults(HEALTHY_PLAN, provider_rng(seed, p), now) for p in PROVIDERS
        }

    def __getitem__(self, provider: str) -> ProviderFaults:
        return self._providers[provider]

    def install(
        self, plan: FaultPlan, providers: tuple[str, ...], seed: int | None, now: float
    ) -> None:
        """Replace the plan of ``providers``; their random sources restart from the seed."""
        if seed is not None:
            self.seed = seed
        for provider in providers:
            self._providers[provider] = ProviderFaults(plan, provider_rng(self.seed, provider), now)

    def reset(self, now: float) -> None:
        """Back to the state at start-up: healthy plans, the start-up seed, empty limiters."""
        self.seed = self._initial_seed
        self.install(HEALTHY_PLAN, PROVIDERS, None, now)

    def snapshot(self, now: float) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "providers": {p: state.snapshot(now) for p, state in self._providers.items()},
        }
