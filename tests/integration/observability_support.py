"""Observability test helpers: read /metrics, start an orchestrator with its own settings."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import start_orchestrator
from tests.support.services import RunningService

OPENAI_GPT4 = "openai/gpt-4"
ANTHROPIC_SONNET = "anthropic/claude-3-5-sonnet-20241022"


class Scrape:
    """One parsed ``GET /metrics``: every sample by name and labels."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {
            (s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    def value(self, name: str, **labels: str) -> float:
        """The sample's value; 0 when the series does not exist yet (a counter never moved)."""
        return self._samples.get((name, frozenset(labels.items())), 0.0)

    def total(self, name: str, **labels: str) -> float:
        """The sum over every series of ``name`` whose labels include ``labels``."""
        wanted = set(labels.items())
        return sum(v for (n, ls), v in self._samples.items() if n == name and wanted <= ls)


async def scrape(http: aiohttp.ClientSession, base_url: str) -> Scrape:
    async with http.get(f"{base_url}/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        return Scrape(await response.text())


async def get_json(
    http: aiohttp.ClientSession, url: str, headers: Mapping[str, str] | None = None
) -> tuple[int, Any]:
    async with http.get(url, headers=headers) as response:
        return response.status, await response.json()


async def post_json(
    http: aiohttp.ClientSession,
    url: str,
    body: Any = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[int, Any, Mapping[str, str]]:
    async with http.post(url, json=body, headers=headers) as response:
        return response.status, await response.json(), response.headers


@contextmanager
def orchestrator(mock: RunningService, **env: str) -> Iterator[RunningService]:
    """An orchestrator of its own, for tests that need settings the shared fixture lacks."""
    service = start_orchestrator(mock, env)
    try:
        yield service
    finally:
        service.stop()
