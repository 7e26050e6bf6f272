"""The control API through real HTTP: plans, bad input, reset, the attempt log, determinism."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from mock_provider.clock import ManualClock
from tests.integration.mock_provider.conftest import SEED
from tests.integration.mock_provider.helpers import (
    ANTHROPIC_PATH,
    OPENAI_PATH,
    anthropic_body,
    body_for,
    log_entries,
    openai_body,
    set_plan,
)

Client = TestClient[Any, Any]


async def statuses(mock: Client, provider: str, count: int) -> list[int]:
    path, body = body_for(provider)
    return [(await mock.post(path, json=body)).status for _ in range(count)]


async def test_health_answers_ok(mock: Client) -> None:
    response = await mock.get("/health")
    assert (response.status, await response.json()) == (200, {"status": "ok"})


async def test_config_shows_each_providers_plan_and_the_seed(mock: Client) -> None:
    await set_plan(mock, {"provider": "openai", "script": ["429", "500"], "seed": 77})
    config = await (await mock.get("/config")).json()
    assert config["seed"] == 77
    assert config["providers"]["openai"]["script"] == ["429", "500"]
    assert config["providers"]["openai"]["script_remaining"] == ["429", "500"]
    assert config["providers"]["anthropic"]["script"] == []
    assert config["keys_required"] == {"openai": False, "anthropic": False}


async def test_a_plan_for_one_provider_leaves_the_other_unchanged(mock: Client) -> None:
    await set_plan(mock, {"provider": "anthropic", "fail_next": {"count": 5, "fault": "529"}})
    await set_plan(mock, {"provider": "openai", "script": ["500"]})
    assert await statuses(mock, "openai", 2) == [500, 200]
    assert await statuses(mock, "anthropic", 2) == [529, 529]


@pytest.mark.parametrize("raw", [b"{}", b""])
async def test_empty_body_resets_both_providers_to_healthy(mock: Client, raw: bytes) -> None:
    await set_plan(mock, {"server_error_probability": 1.0})
    assert await statuses(mock, "openai", 1) == [500]
    response = await mock.post("/config/failures", data=raw)
    assert response.status == 200
    assert await statuses(mock, "openai", 2) == [200, 200]
    assert await statuses(mock, "anthropic", 2) == [200, 200]


async def test_seed_keys_work_as_in_the_seed(mock: Client) -> None:
    await set_plan(mock, {"rate_limit_probability": 1.0})
    assert await statuses(mock, "openai", 2) == [429, 429]
    assert await statuses(mock, "anthropic", 2) == [429, 429]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"timeout_probability": 2}, "timeout_probability"),
        ({"faults": {"timeout": -0.5}}, "faults.timeout"),
        ({"faults": {"meteor": 0.5}}, "faults.meteor"),
        ({"script": ["429", "500", "boom"]}, "script[2]"),
        ({"provider": "gemini"}, "provider"),
        ({"response_delay_seconds": -1}, "response_delay_seconds"),
        ({"outage": {"duration_seconds": "long"}}, "outage.duration_seconds"),
        ({"rpm_limit": True}, "rpm_limit"),
        ([], None),
    ],
)
async def test_bad_control_input_is_a_400_naming_the_field_and_changes_nothing(
    mock: Client, body: Any, param: str | None
) -> None:
    await set_plan(mock, {"provider": "openai", "script": ["502"]})
    before = await (await mock.get("/config")).json()
    response = await mock.post("/config/failures", json=body)
    assert response.status == 400
    payload = await response.json()
    assert payload["error"]["param"] == param
    assert payload["error"]["message"]
    assert await (await mock.get("/config")).json() == before


async def test_malformed_control_json_is_a_400(mock: Client) -> None:
    response = await mock.post("/config/failures", data=b'{"script": [')
    assert response.status == 400
    payload = await response.json()
    assert payload["error"]["param"] is None
    assert "not valid JSON" in payload["error"]["message"]


async def test_reset_clears_plans_limiter_and_log(mock: Client) -> None:
    await set_plan(mock, {"rpm_limit": 1, "script": ["ok", "500"], "seed": 5})
    assert await statuses(mock, "openai", 1) == [200]
    response = await mock.post("/config/reset")
    assert response.status == 200
    assert await log_entries(mock) == []
    config = await (await mock.get("/config")).json()
    assert config["providers"]["openai"]["rpm_limit"] is None
    assert config["seed"] == SEED
    assert await statuses(mock, "openai", 3) == [200, 200, 200]


async def test_outage_fails_until_the_window_passes(mock: Client, clock: ManualClock) -> None:
    await set_plan(mock, {"provider": "openai", "outage": {"duration_seconds": 60, "fault": "503"}})
    assert await statuses(mock, "openai", 2) == [503, 503]
    assert await statuses(mock, "anthropic", 1) == [200]
    clock.advance(59)
    assert await statuses(mock, "openai", 1) == [503]
    clock.advance(1)
    assert await statuses(mock, "openai", 1) == [200]


async def test_rpm_limit_answers_429_with_a_correct_retry_after(
    mock: Client, clock: ManualClock
) -> None:
    await set_plan(mock, {"provider": "anthropic", "rpm_limit": 2})
    assert await statuses(mock, "anthropic", 2) == [200, 200]
    clock.advance(45)
    refused = await mock.post(ANTHROPIC_PATH, json=anthropic_body())
    assert refused.status == 429
    assert refused.headers["retry-after"] == "15"
    assert refused.headers["anthropic-ratelimit-requests-limit"] == "2"
    clock.advance(15)
    assert await statuses(mock, "anthropic", 3) == [200, 200, 429]


async def test_same_seed_replays_the_same_faults(mock: Client) -> None:
    plan = {"provider": "openai", "seed": 2024, "faults": {"500": 0.3, "429": 0.3}}
    await set_plan(mock, plan)
    first = await statuses(mock, "openai", 30)
    await set_plan(mock, plan)
    assert await statuses(mock, "openai", 30) == first
    assert len(set(first)) == 3
    await set_plan(mock, {**plan, "seed": 2025})
    assert await statuses(mock, "openai", 30) != first


async def test_log_records_each_request_with_its_headers_fault_and_status(mock: Client) -> None:
    await set_plan(mock, {"provider": "openai", "script": ["429"]})
    headers = {"X-Request-ID": "req-42", "X-Attempt-Number": "1"}
    await mock.post(OPENAI_PATH, json=openai_body(), headers=headers)
    await mock.post(
        OPENAI_PATH, json=openai_body(stream=True), headers={**headers, "X-Attempt-Number": "2"}
    )
    await mock.post(ANTHROPIC_PATH, json=anthropic_body(), headers={"X-Attempt-Number": "x"})
    entries = await log_entries(mock)
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)
    first, second, third = entries
    assert set(first) == {
        "seq", "time", "provider", "path", "model", "stream", "request_id", "attempt", "fault",
        "status", "disconnected",
    }  # fmt: skip
    assert (first["provider"], first["path"], first["model"]) == (
        "openai",
        OPENAI_PATH,
        "gpt-4o-mini",
    )
    assert (first["request_id"], first["attempt"], first["fault"], first["status"]) == (
        "req-42",
        1,
        "429",
        429,
    )
    assert (second["attempt"], second["stream"], second["status"]) == (2, True, 200)
    assert second["time"] >= first["time"]
    assert (third["provider"], third["attempt"], third["request_id"]) == ("anthropic", None, None)


async def test_log_filters_by_provider_and_request_id(mock: Client) -> None:
    await mock.post(OPENAI_PATH, json=openai_body(), headers={"X-Request-ID": "a"})
    await mock.post(ANTHROPIC_PATH, json=anthropic_body(), headers={"X-Request-ID": "a"})
    await mock.post(OPENAI_PATH, json=openai_body(), headers={"X-Request-ID": "b"})
    assert len(await log_entries(mock, provider="openai")) == 2
    assert len(await log_entries(mock, request_id="a")) == 2
    only = await log_entries(mock, provider="openai", request_id="b")
    assert [(e["provider"], e["request_id"]) for e in only] == [("openai", "b")]
    bad = await mock.get("/log", params={"provider": "gemini"})
    assert bad.status == 400
    assert (await bad.json())["error"]["param"] == "provider"


async def test_invalid_requests_are_logged_without_a_fault(mock: Client) -> None:
    await set_plan(mock, {"script": ["500"]})
    await mock.post(OPENAI_PATH, json={"model": "m"})
    entry = (await log_entries(mock))[-1]
    assert (entry["model"], entry["fault"], entry["status"]) == ("m", None, 400)
    assert await statuses(mock, "openai", 1) == [500]  # the bad request used no script step


async def test_delete_log_clears_it(mock: Client) -> None:
    await mock.post(OPENAI_PATH, json=openai_body())
    response = await mock.delete("/log")
    assert response.status == 200
    assert await log_entries(mock) == []
