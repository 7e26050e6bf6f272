"""A real engine over a scripted upstream and a fake clock, for testing engine observers.

The observer under test sees exactly what the engine does, so its tests assert on real
attempt sequences rather than on hand-made calls that might not match the engine's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from orchestrator.answers import Completion
from orchestrator.breaker import BreakerRegistry, TransitionListener
from orchestrator.config import (
    AppConfig,
    BreakerPolicy,
    DeadlinePolicy,
    DeploymentConfig,
    ProviderConfig,
    RouteConfig,
    ServerConfig,
)
from orchestrator.decision import Outcome, OutcomeKind
from orchestrator.engine import AttemptCall, AttemptResult, Engine, EngineObserver, EngineResult
from orchestrator.policies import BackoffPolicy, RetryPolicy, StreamPolicy
from orchestrator.providers.openai_stream import OpenAIStreamTranslator
from orchestrator.routing.router import Deployment, Router
from orchestrator.streaming.reader import UpstreamStream
from shared.models import ChatMessage, ChatRequest, Usage
from tests.unit.fakes import FakeClock

OPENAI = "openai/gpt-4"
ANTHROPIC = "anthropic/claude-3-5-sonnet"
OK = Outcome(OutcomeKind.SUCCESS, 200, latency_s=0.25)
E500 = Outcome(OutcomeKind.SERVER_ERROR, 500, latency_s=0.1, message="boom")
R429 = Outcome(OutcomeKind.RATE_LIMITED, 429, latency_s=0.05, message="slow down")
E400 = Outcome(OutcomeKind.CLIENT_ERROR, 400, latency_s=0.02, message="bad param")
POLICY = Outcome(OutcomeKind.CONTENT_POLICY, 400, latency_s=0.02, message="unsafe")
BACKOFF_BASE_S = 1.0
ATTEMPT_TIMEOUT_S = 1.0


def config(failure_threshold: int = 5, open_duration_s: float = 30.0) -> AppConfig:
    providers = {
        name: ProviderConfig(name, name, "http://127.0.0.1:9", ATTEMPT_TIMEOUT_S)
        for name in ("openai", "anthropic")
    }
    route = RouteConfig(
        "gpt-4",
        (
            DeploymentConfig("openai", "gpt-4", 8192, 4096),
            DeploymentConfig("anthropic", "claude-3-5-sonnet", 200_000, 8192),
        ),
    )
    return AppConfig(
        server=ServerConfig(),
        providers=providers,
        routes={"gpt-4": route},
        retry=RetryPolicy(backoff=BackoffPolicy(base_s=BACKOFF_BASE_S, multiplier=2.0, cap_s=8.0)),
        breaker=BreakerPolicy(failure_threshold=failure_threshold, open_duration_s=open_duration_s),
        deadline=DeadlinePolicy(request_deadline_s=30.0),
    )


class ScriptedUpstream:
    """Answers each deployment from its script (the last entry repeats); time passes on
    the fake clock: an outcome's latency, or the whole attempt timeout for a TIMEOUT."""

    def __init__(
        self,
        clock: FakeClock,
        scripts: dict[str, Sequence[Outcome]],
        healthy: Outcome = OK,
    ) -> None:
        self.clock = clock
        self.scripts = {key: list(outcomes) for key, outcomes in scripts.items()}
        self.healthy = healthy
        self.calls: list[tuple[str, int, float]] = []

    async def attempt(self, call: AttemptCall) -> AttemptResult:
        deployment, attempt_number, timeout_s = call.deployment, call.attempt_number, call.timeout_s
        self.calls.append((deployment.key, attempt_number, timeout_s))
        script = self.scripts.get(deployment.key) or [self.healthy]
        outcome = script.pop(0) if len(script) > 1 else script[0]
        if outcome.kind is OutcomeKind.TIMEOUT:
            self.clock.advance(timeout_s)
            return AttemptResult(dataclasses.replace(outcome, latency_s=timeout_s))
        self.clock.advance(outcome.latency_s)
        if outcome.ok:
            completion = Completion(f"answer from {deployment.key}", "stop", Usage(3, 4), "id-1")
            return AttemptResult(outcome, completion)
        return AttemptResult(outcome)


class EngineHarness:
    def __init__(
        self,
        observer: EngineObserver,
        scripts: dict[str, Sequence[Outcome]] | None = None,
        *,
        app_config: AppConfig | None = None,
        on_transition: TransitionListener | None = None,
    ) -> None:
        app_config = app_config or config()
        self.clock = FakeClock()
        self.breakers = BreakerRegistry(app_config.breaker, self.clock, on_transition)
        self.router = Router(app_config, self.breakers, self.clock)
        self.upstream = ScriptedUpstream(self.clock, scripts or {})
        self.engine = Engine(
            router=self.router,
            breakers=self.breakers,
            upstream=self.upstream,
            retry=app_config.retry,
            deadline=app_config.deadline,
            clock=self.clock,
            sleep=self._sleep,
            random=lambda: 0.5,
            observer=observer,
        )

    async def _sleep(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def deployment(self, key: str) -> Deployment:
        route = self.router.route("gpt-4") or ()
        return next(d for d in route if d.key == key)

    async def run(self, request_id: str = "req-1", **fields: object) -> EngineResult:
        request = ChatRequest(
            model="gpt-4",
            messages=(ChatMessage("user", "hello"),),
            **fields,  # type: ignore[arg-type]
        )
        return await self.engine.run(request, request_id)


def open_stream(deployment: Deployment) -> UpstreamStream:
    """A committed stream with nothing attached: what the telemetry reads of a stream."""
    return UpstreamStream(OpenAIStreamTranslator(), deployment, StreamPolicy(), _ignore)


def _ignore(deployment: Deployment, reason: str) -> None:
    pass
