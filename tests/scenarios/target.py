"""What a scenario needs to know about the system under test, and how to talk to it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

# Timings both targets configure the orchestrator with for the scenarios: short enough to
# keep the suite fast, long enough that a loaded CI machine does not produce false timeouts.
SCENARIO_ENV: dict[str, str] = {
    "ORCH__PROVIDERS__OPENAI__ATTEMPT_TIMEOUT_S": "0.5",
    "ORCH__PROVIDERS__ANTHROPIC__ATTEMPT_TIMEOUT_S": "0.5",
    "ORCH__RETRY__BACKOFF__BASE_S": "0.05",
    "ORCH__RETRY__BACKOFF__CAP_S": "0.4",
    "ORCH__BREAKER__OPEN_DURATION_S": "1.0",
    "ORCH__BREAKER__FAILURE_THRESHOLD": "5",
    "ORCH__DEADLINE__REQUEST_DEADLINE_S": "3.0",
}


@dataclass
class Target:
    orchestrator_url: str
    mock_url: str
    http: aiohttp.ClientSession
    # Gives a scenario an orchestrator with closed breakers and no exclusions.
    fresh_orchestrator: Callable[[], Awaitable[None]]
    deadline_s: float = float(SCENARIO_ENV["ORCH__DEADLINE__REQUEST_DEADLINE_S"])
    open_duration_s: float = float(SCENARIO_ENV["ORCH__BREAKER__OPEN_DURATION_S"])
    failure_threshold: int = int(SCENARIO_ENV["ORCH__BREAKER__FAILURE_THRESHOLD"])

    async def chat(
        self, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        async with self.http.post(
            f"{self.orchestrator_url}/v1/chat/completions", json=body, headers=headers
        ) as response:
            return response.status, await response.json(), dict(response.headers)

    async def health(self) -> dict[str, Any]:
        async with self.http.get(f"{self.orchestrator_url}/health") as response:
            assert response.status == 200
            result: dict[str, Any] = await response.json()
            return result

    async def set_faults(self, plan: dict[str, Any]) -> None:
        async with self.http.post(f"{self.mock_url}/config/failures", json=plan) as response:
            text = await response.text()
            assert response.status == 200, text

    async def reset_mock(self) -> None:
        async with self.http.post(f"{self.mock_url}/config/reset") as response:
            assert response.status == 200, await response.text()

    async def mock_log(self, **filters: str) -> list[dict[str, Any]]:
        async with self.http.get(f"{self.mock_url}/log", params=filters) as response:
            assert response.status == 200
            entries: list[dict[str, Any]] = (await response.json())["entries"]
            return entries


def chat_body(content: str = "Say hello", model: str = "gpt-4", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": content}], **extra}
