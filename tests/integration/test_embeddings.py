"""``POST /v1/embeddings`` through the orchestrator, with the official ``openai`` SDK.

Real processes: the mock's vectors are deterministic (same model and input, same vector),
so the tests can tell an answer that went through whole from one that did not. Failover
runs between two mock providers serving the same embedding model, as it must in production
(vectors of different models do not compare).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import openai
import pytest

from tests.integration.observability_support import orchestrator
from tests.scenarios.target import Target
from tests.support.services import RunningService, start_service

MODEL = "text-embedding-3-small"
HAIKU = (
    'provider = "anthropic", model = "claude-3-5-haiku-20241022", '
    "context_window_tokens = 200000, max_output_tokens = 8192"
)


def _client(base_url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key="sk-test", base_url=f"{base_url}/v1", max_retries=0)


async def test_vectors_are_whole_deterministic_and_sized_as_asked(target: Target) -> None:
    async with _client(target.orchestrator_url) as client:
        packed = await client.embeddings.create(model=MODEL, input=["alpha", "beta"])  # base64
        floats = await client.embeddings.create(
            model=MODEL, input=["alpha", "beta"], encoding_format="float"
        )
        short = await client.embeddings.create(model=MODEL, input="alpha", dimensions=64)
    alpha, beta = (item.embedding for item in floats.data)
    assert len(alpha) == 1536
    assert len(short.data[0].embedding) == 64
    assert math.isclose(math.fsum(v * v for v in alpha), 1.0, rel_tol=1e-9)
    assert alpha != beta
    # base64 carries float32: the same vector, to float32's precision.
    assert all(
        math.isclose(a, b, abs_tol=1e-6)
        for a, b in zip(packed.data[0].embedding, alpha, strict=True)
    )
    assert floats.usage.prompt_tokens > 0
    extra = floats.model_extra or {}
    assert extra["provider"] == "openai"
    assert extra["attempts"] == 1
    assert [e["path"] for e in await target.mock_log()] == ["/v1/embeddings"] * 3


async def test_a_server_error_is_retried_with_the_same_engine(target: Target) -> None:
    await target.set_faults({"provider": "openai", "script": ["503", "ok"]})
    async with _client(target.orchestrator_url) as client:
        answer = await client.embeddings.create(
            model=MODEL, input="x", extra_headers={"X-Request-ID": "emb-retry"}
        )
    log = (answer.model_extra or {})["attempt_log"]
    assert [(entry["status"], entry["decision"]) for entry in log] == [
        (503, "retry_same"),
        (200, "return"),
    ]
    async with target.http.get(f"{target.orchestrator_url}/v1/requests/emb-retry") as response:
        journey = await response.json()
    assert journey["outcome"] == "success"
    assert len(journey["attempt_log"]) == 2


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": MODEL}, "input"),
        ({"model": MODEL, "input": []}, "input"),
        ({"model": MODEL, "input": ["ok", 3.5]}, "input[1]"),
        ({"model": MODEL, "input": "x", "encoding_format": "hex"}, "encoding_format"),
        ({"model": MODEL, "input": "x", "dimensions": 0}, "dimensions"),
        ({"model": MODEL, "input": "x " * 40_000}, "input"),
    ],
)
async def test_a_bad_field_is_a_400_naming_it(target: Target, body: Any, param: str) -> None:
    async with target.http.post(f"{target.orchestrator_url}/v1/embeddings", json=body) as response:
        assert response.status == 400
        error = (await response.json())["error"]
    assert error["param"] == param
    assert await target.mock_log() == []


async def test_an_unknown_model_is_a_404(target: Target) -> None:
    async with _client(target.orchestrator_url) as client:
        with pytest.raises(openai.NotFoundError):
            await client.embeddings.create(model="no-such-embedder", input="x")


@pytest.fixture
def second_mock() -> Iterator[RunningService]:
    service = start_service("mock_provider", ["--seed", "7"])
    yield service
    service.stop()


def _two_provider_config(tmp_path: Path, first: str, second: str) -> str:
    path = tmp_path / "embeddings.toml"
    path.write_text(
        f"""
[providers.openai]
wire_format = "openai"
base_url = "{first}"
[providers.azure]
wire_format = "openai"
base_url = "{second}"
[providers.anthropic]
wire_format = "anthropic"
base_url = "{first}"

[routes."{MODEL}"]
deployments = [
  {{ provider = "openai", model = "{MODEL}", context_window_tokens = 8191, max_output_tokens = 1 }},
  {{ provider = "azure", model = "{MODEL}", context_window_tokens = 8191, max_output_tokens = 1 }},
]
[routes."claude-only"]
deployments = [
  {{ {HAIKU} }},
]
""",
        encoding="utf-8",
    )
    return str(path)


async def test_embeddings_fail_over_to_the_same_model_elsewhere(
    mock_service: RunningService, second_mock: RunningService, tmp_path: Path
) -> None:
    config = _two_provider_config(tmp_path, mock_service.base_url, second_mock.base_url)
    async with aiohttp.ClientSession() as http:
        for mock in (mock_service, second_mock):
            async with http.post(f"{mock.base_url}/config/reset") as reset:
                assert reset.status == 200
        plan = {"provider": "openai", "fail_next": {"count": 100, "fault": "503"}}
        async with http.post(f"{mock_service.base_url}/config/failures", json=plan) as set_plan:
            assert set_plan.status == 200
        with orchestrator(mock_service, ORCH_CONFIG=config, ORCH_MOCK_BASE_URL="") as service:
            async with _client(service.base_url) as client:
                answer = await client.embeddings.create(
                    model=MODEL, input="alpha", encoding_format="float"
                )
                with pytest.raises(openai.BadRequestError) as caught:
                    await client.embeddings.create(model="claude-only", input="alpha")
        async with http.get(f"{second_mock.base_url}/log") as log:
            served = await log.json()
    providers = [entry["provider"] for entry in (answer.model_extra or {})["attempt_log"]]
    assert providers[-1] == "azure"
    assert set(providers[:-1]) == {"openai"}
    assert [e["path"] for e in served["entries"]] == ["/v1/embeddings"]
    body: Any = caught.value.body
    assert (body["code"], body["param"]) == ("unsupported_parameter", "model")
