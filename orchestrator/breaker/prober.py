"""Background probes: the orchestrator's own minimal request to an open deployment.

Opt-in per provider (``probe_interval_s``). Every interval, each of the provider's
deployments whose breaker is open or half-open gets one small request (``probe_message``,
``max_tokens: 1``) through the same upstream as callers' attempts, and its outcome is
recorded by the breaker registry like any attempt's. So a recovering provider is found, and
half-open is walked to closed, without a caller's request being the probe. While OPEN the
probe takes the breaker's early-probe slot (``all_open_probe_interval_s``), so callers
and the prober never probe twice in one interval; while HALF_OPEN it takes a probe slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Final, Protocol

from orchestrator.breaker.circuit import BreakerState
from orchestrator.breaker.registry import BreakerRegistry
from orchestrator.engine.results import AttemptCall, AttemptResult
from orchestrator.routing.router import Deployment
from orchestrator.telemetry.logs import JOURNEY_LOGGER
from shared.models import ChatMessage, ChatRequest

log: Final = logging.getLogger(JOURNEY_LOGGER)
TICK_S: Final = 0.25  # how often due probes are looked for; intervals are at least this


class Upstream(Protocol):
    async def attempt(self, call: AttemptCall) -> AttemptResult: ...


class ProbeObserver(Protocol):
    def on_probe(self, deployment: Deployment, kind: str) -> None: ...


class BackgroundProber:
    def __init__(
        self,
        deployments: Iterable[Deployment],
        breakers: BreakerRegistry,
        upstream: Upstream,
        observer: ProbeObserver,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._deployments = tuple(d for d in deployments if d.provider.probe_interval_s)
        self._breakers = breakers
        self._upstream = upstream
        self._observer = observer
        self._clock = clock
        self._sleep = sleep
        self._due_at: dict[str, float] = {}
        self._sent = 0

    @property
    def enabled(self) -> bool:
        return bool(self._deployments)

    async def run(self) -> None:
        while True:
            await self.tick()
            await self._sleep(TICK_S)

    async def tick(self) -> None:
        """Probe every deployment that is due, concurrently; each probe's outcome recorded."""
        due = [d for d in self._deployments if self._take_slot(d)]
        if due:
            await asyncio.gather(*(self._probe(d) for d in due))

    def _take_slot(self, deployment: Deployment) -> bool:
        now = self._clock()
        if now < self._due_at.get(deployment.key, float("-inf")):
            return False
        state = self._breakers.get(deployment.key).state
        if state is BreakerState.OPEN:
            taken = self._breakers.early_probe(deployment.key)
        elif state is BreakerState.HALF_OPEN:
            taken = self._breakers.admit(deployment.key)
        else:
            return False
        if taken:
            interval_s = deployment.provider.probe_interval_s or TICK_S
            self._due_at[deployment.key] = now + interval_s
        return taken

    async def _probe(self, deployment: Deployment) -> None:
        self._sent += 1
        provider = deployment.provider
        request = ChatRequest(
            model=deployment.model,
            messages=(ChatMessage("user", provider.probe_message),),
            max_tokens=1,
        )
        call = AttemptCall(
            deployment, request, f"probe-{self._sent}", 1, provider.attempt_timeout_s
        )
        self._observer.on_probe(deployment, "background")
        try:
            result = await self._upstream.attempt(call)
        except asyncio.CancelledError:
            self._breakers.release(deployment.key)
            raise
        outcome = result.outcome
        self._breakers.record(deployment.key, outcome.kind, deployment.is_slow(outcome.latency_s))
        log.info(
            "background probe",
            extra={
                "event": "background_probe",
                "provider": provider.name,
                "model": deployment.model,
                "outcome": str(outcome.kind),
                "state": str(self._breakers.get(deployment.key).state),
            },
        )


async def run_until_cancelled(prober: BackgroundProber) -> None:
    with contextlib.suppress(asyncio.CancelledError):
        await prober.run()
