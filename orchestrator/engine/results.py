"""What an attempt and a request end as: values the engine returns, never exceptions."""

from __future__ import annotations

from typing import Any

from orchestrator.answers import Completion
from orchestrator.decision import Outcome
from orchestrator.requests import RoutedRequest
from orchestrator.routing.router import Deployment
from orchestrator.streaming.reader import UpstreamStream
from shared.models import AttemptRecord
from shared.values import value


@value
class RouteChoice:
    """How a route strategy ordered a request's plan, for the attempt log and the journey."""

    strategy: str
    order: tuple[str, ...]  # deployment keys, first to last
    why: str

    def to_json(self) -> dict[str, Any]:
        return {"strategy": self.strategy, "order": list(self.order), "why": self.why}


Answer = Completion | UpstreamStream
"""A plain answer, whole; or a stream read up to its commit point and still open."""


@value
class AttemptCall:
    """One attempt to make: what the engine hands its upstream."""

    deployment: Deployment
    request: RoutedRequest
    request_id: str
    attempt_number: int  # 1-based, across the whole request
    # The attempt's time limit; for a stream all the time left in the request deadline (the
    # upstream applies its own first-token limit inside it).
    timeout_s: float


@value
class AttemptResult:
    outcome: Outcome
    answer: Answer | None = None  # set when the attempt succeeded


@value
class Success:
    answer: Answer
    deployment: Deployment
    attempts: tuple[AttemptRecord, ...]
    total_latency_s: float
    # Deployments the plan left out because they cannot honour the request (attempt 0 each).
    skipped: tuple[AttemptRecord, ...] = ()
    # The order a route strategy (other than priority) chose, and why; None: configured order.
    route: RouteChoice | None = None

    @property
    def stream(self) -> UpstreamStream | None:
        return self.answer if isinstance(self.answer, UpstreamStream) else None


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
    skipped: tuple[AttemptRecord, ...] = ()
    route: RouteChoice | None = None


EngineResult = Success | Failure
