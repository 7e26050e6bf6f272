"""An upstream that echoes the key it was sent: the key appears nowhere we write.

The real app over a transport that answers 400, 401, 429 and 5xx bodies (and an in-band
error event after the first token) quoting the deployment's key; the answers, attempt
logs, journeys, metrics and every log line are searched for it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from orchestrator.app import create_app
from orchestrator.config import load_config
from orchestrator.http.keys import TRANSPORT_KEY, Runtime
from orchestrator.redaction import REDACTED, Redactor
from orchestrator.transport.base import UpstreamAnswer, UpstreamRequest
from tests.unit.fakes import FakeAnswer, FakeClock

KEY = "sk-proj-ECHOED8d41f0c2e9b7a5"
ANTHROPIC_KEY = "sk-ant-ECHOED3c9e71b0d4"
ADMIN = "adm-ECHOED5e6f7a8b9c0d"


class EchoingTransport:
    """Every call fails with a body quoting the key the request carried."""

    def __init__(self) -> None:
        self.statuses = [400, 401, 429, 500, 529]

    async def send(
        self, request: UpstreamRequest, timeout_s: float, *, stream: bool = False
    ) -> UpstreamAnswer:
        key = request.headers.get("Authorization", "").removeprefix(
            "Bearer "
        ) or request.headers.get("x-api-key", "")
        if stream:
            chunk = {"choices": [{"index": 0, "delta": {"content": "Hi"}}]}
            error = {"error": {"message": f"bad key {key}", "type": key}}
            body = b"data: " + orjson.dumps(chunk) + b"\n\ndata: " + orjson.dumps(error) + b"\n\n"
            return FakeAnswer(body, "text/event-stream")
        status = self.statuses.pop(0) if self.statuses else 500
        body = orjson.dumps(
            {"error": {"message": f"Incorrect API key provided: {key}", "type": key}}
        )
        return FakeAnswer(body, status=status)

    async def close(self) -> None:
        pass


@pytest.fixture
async def client() -> AsyncIterator[TestClient[web.Request, web.Application]]:
    environ = {"OPENAI_API_KEY": KEY, "ANTHROPIC_API_KEY": ANTHROPIC_KEY, "ORCH_ADMIN_TOKEN": ADMIN}
    runtime = Runtime(clock=FakeClock(), random=lambda: 0.0)
    app = create_app(load_config(None, environ), runtime)
    app[TRANSPORT_KEY] = EchoingTransport()
    test_client = TestClient(TestServer(app))
    await test_client.start_server()
    yield test_client
    await test_client.close()


def test_every_configured_secret_is_replaced() -> None:
    redactor = Redactor(["sk-long-secret", "tok", None])
    assert redactor.text("a sk-long-secret b") == f"a {REDACTED} b"
    assert redactor.text("tok stays: too short to be told from a word") is not None
    assert redactor.text(None) is None


async def test_an_echoed_key_reaches_no_answer_journey_metric_or_log(
    client: TestClient[web.Request, web.Application], caplog: pytest.LogCaptureFixture
) -> None:
    written: list[str] = []
    with caplog.at_level(logging.DEBUG):
        for stream in (False, False, True):
            body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
            headers = {"X-Request-ID": f"req-echo-{len(written)}"}
            async with client.post(
                "/v1/chat/completions", json={**body, "stream": stream}, headers=headers
            ) as response:
                written.append(await response.text())
            auth = {"Authorization": f"Bearer {ADMIN}"}
            async with client.get(f"/v1/requests/{headers['X-Request-ID']}", headers=auth) as got:
                written.append(await got.text())
        async with client.get("/metrics") as metrics:
            written.append(await metrics.text())
    written.extend(record.getMessage() + str(record.__dict__) for record in caplog.records)
    everything = "\n".join(written)
    assert "Incorrect API key provided" in everything  # the errors did come back
    assert REDACTED in everything
    for secret in (KEY, ANTHROPIC_KEY, ADMIN):
        assert secret not in everything
