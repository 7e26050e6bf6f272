"""Background probes on a fake clock: an open deployment is walked to closed by the
orchestrator's own requests, one per interval, and a healthy one is never probed."""

from __future__ import annotations

import dataclasses

from orchestrator.breaker import BreakerRegistry, BreakerState
from orchestrator.breaker.prober import BackgroundProber
from orchestrator.decision import Outcome, OutcomeKind
from orchestrator.engine.results import AttemptCall, AttemptResult
from orchestrator.policies import BreakerPolicy
from orchestrator.routing.router import Deployment
from shared.models import ChatRequest
from tests.unit.adapter_support import deployment
from tests.unit.fakes import FakeClock

POLICY = BreakerPolicy(failure_threshold=1, open_duration_s=30.0)


class Upstream:
    def __init__(self, kind: OutcomeKind) -> None:
        self.kind = kind
        self.calls: list[AttemptCall] = []

    async def attempt(self, call: AttemptCall) -> AttemptResult:
        self.calls.append(call)
        return AttemptResult(Outcome(self.kind, 200 if self.kind is OutcomeKind.SUCCESS else 500))


class Probes:
    def __init__(self) -> None:
        self.kinds: list[str] = []

    def on_probe(self, deployment: Deployment, kind: str) -> None:
        self.kinds.append(kind)


def _setup(kind: OutcomeKind, every_s: float | None = 2.0) -> tuple[
    BackgroundProber, BreakerRegistry, Upstream, FakeClock, Deployment
]:  # fmt: skip
    clock = FakeClock()
    plain = deployment("openai")
    probed = dataclasses.replace(
        plain, provider=dataclasses.replace(plain.provider, probe_interval_s=every_s)
    )
    breakers = BreakerRegistry(POLICY, clock)
    upstream = Upstream(kind)
    prober = BackgroundProber([probed], breakers, upstream, Probes(), clock=clock)
    return prober, breakers, upstream, clock, probed


async def test_a_recovered_deployment_is_closed_by_probes_alone() -> None:
    prober, breakers, upstream, clock, probed = _setup(OutcomeKind.SUCCESS)
    breakers.get(probed.key).on_failure()  # open, 30 s of cool-down ahead
    await prober.tick()
    assert breakers.get(probed.key).state is BreakerState.HALF_OPEN  # found before cool-down
    await prober.tick()  # not due yet: one probe per interval
    assert len(upstream.calls) == 1
    while breakers.get(probed.key).state is not BreakerState.CLOSED:
        clock.advance(2.0)
        await prober.tick()
    assert len(upstream.calls) == POLICY.half_open_successes_needed
    probe = upstream.calls[0].request
    assert isinstance(probe, ChatRequest)
    assert probe.max_tokens == 1
    assert probe.messages[0].content == "ping"
    clock.advance(10.0)
    await prober.tick()  # closed: nothing more
    assert len(upstream.calls) == POLICY.half_open_successes_needed


async def test_a_dead_deployment_gets_one_probe_an_interval_and_no_new_cool_down() -> None:
    prober, breakers, upstream, clock, probed = _setup(OutcomeKind.SERVER_ERROR)
    breakers.get(probed.key).on_failure()
    opened_at = breakers.get(probed.key).opened_at
    for _ in range(5):
        await prober.tick()
        await prober.tick()
        clock.advance(2.0)
    assert len(upstream.calls) == 5
    assert breakers.get(probed.key).state is BreakerState.OPEN
    assert breakers.get(probed.key).opened_at == opened_at


async def test_healthy_and_unprobed_deployments_are_left_alone() -> None:
    prober, _, upstream, _, _ = _setup(OutcomeKind.SUCCESS)
    await prober.tick()
    assert upstream.calls == []
    off, *_ = _setup(OutcomeKind.SUCCESS, every_s=None)
    assert not off.enabled
