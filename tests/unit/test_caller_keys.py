"""Caller keys: configured as named keys, held as digests, checked before any upstream call."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from orchestrator.app import create_app
from orchestrator.config import ConfigError, load_config
from orchestrator.http.keys import TELEMETRY_KEY, TRANSPORT_KEY
from tests.unit.test_attempt_path import ScriptedTransport, openai_poisoned

ALICE = "sk-caller-alice-0123456789"
BOB = "sk-caller-bob-9876543210ab"


def test_keys_come_from_the_variable_and_the_file_as_digests(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text(f"# team keys\nbob:{BOB}\n", encoding="utf-8")
    config = load_config(
        None, {"ORCH_CALLER_KEYS": f"alice:{ALICE}", "ORCH__AUTH__KEYS_FILE": str(keys)}
    )
    assert config.auth.enabled
    assert [name for name, _ in config.auth.key_digests] == ["alice", "bob"]
    assert ALICE not in repr(config)
    assert all(ALICE.encode() not in digest for _, digest in config.auth.key_digests)


def test_no_keys_means_auth_is_off() -> None:
    assert not load_config(None, {}).auth.enabled


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("alice", "entry 1 in $ORCH_CALLER_KEYS is not 'name:key'"),
        ("alice:short", "'alice' in $ORCH_CALLER_KEYS must be at least 16"),
        (f"a:{ALICE},a:{BOB}", "'a' is given twice"),
    ],
)
def test_a_bad_key_entry_stops_start_up_without_showing_the_key(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        load_config(None, {"ORCH_CALLER_KEYS": value})
    assert "alice:short" not in str(caught.value)
    assert ALICE not in str(caught.value)


@pytest.fixture
async def client() -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = create_app(load_config(None, {"ORCH_CALLER_KEYS": f"alice:{ALICE},bob:{BOB}"}))
    transport = ScriptedTransport(openai_poisoned)
    app[TRANSPORT_KEY] = transport
    test_client = TestClient(TestServer(app))
    await test_client.start_server()
    yield test_client
    await test_client.close()


BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer sk-wrong-key-000000000"}, {"x-api-key": "nope"}],
)
async def test_a_missing_or_wrong_key_is_a_401_with_no_upstream_call(
    client: TestClient[web.Request, web.Application], headers: dict[str, str]
) -> None:
    async with client.post("/v1/chat/completions", json=BODY, headers=headers) as response:
        body = await response.json()
    assert response.status == 401
    assert body["error"]["code"] == "invalid_api_key"
    assert body["request_id"]
    transport = client.app[TRANSPORT_KEY]
    assert isinstance(transport, ScriptedTransport)
    assert transport.sent == []


@pytest.mark.parametrize("header", ["Authorization", "x-api-key"])
async def test_a_right_key_is_served_and_its_name_counted(
    client: TestClient[web.Request, web.Application], header: str
) -> None:
    value = f"Bearer {ALICE}" if header == "Authorization" else ALICE
    headers = {header: value, "X-Request-ID": f"req-alice-{header}"}
    async with client.post("/v1/chat/completions", json=BODY, headers=headers) as response:
        assert response.status == 200
    telemetry = client.app[TELEMETRY_KEY]
    journey = telemetry.journeys.get(f"req-alice-{header}")
    assert journey is not None
    assert journey.to_json()["caller"] == "alice"
    counted = telemetry.metrics.registry.get_sample_value(
        "orchestrator_caller_requests_total", {"caller": "alice"}
    )
    assert counted == 1.0
