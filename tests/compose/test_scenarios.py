"""The five scenarios and their guarantees, against the compose stack: the very functions
tests/integration/test_scenarios.py runs against processes (tests/scenarios/five.py)."""

from __future__ import annotations

from tests.scenarios import five
from tests.scenarios.target import Target


async def test_happy_path_answers_on_the_first_attempt(target: Target) -> None:
    await five.happy_path(target)


async def test_timeouts_fail_over_then_retry_with_backoff(target: Target) -> None:
    await five.timeout_then_retry(target)


async def test_rate_limit_fails_over_to_anthropic_without_waiting(target: Target) -> None:
    await five.rate_limit_failover(target)


async def test_circuit_breaker_opens_probes_and_closes(target: Target) -> None:
    await five.circuit_breaker(target)


async def test_invalid_request_is_rejected_with_zero_upstream_calls(target: Target) -> None:
    await five.validation_rejects_without_upstream_calls(target)


async def test_deadline_holds_when_every_provider_is_silent(target: Target) -> None:
    await five.deadline_holds_when_every_provider_is_silent(target)


async def test_provider_bad_request_is_not_retried(target: Target) -> None:
    await five.provider_bad_request_is_not_retried(target)


async def test_every_breaker_open_answers_503_at_once(target: Target) -> None:
    await five.every_breaker_open_answers_503_at_once(target)
