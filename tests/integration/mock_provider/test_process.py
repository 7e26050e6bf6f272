"""The mock as a real process: connection-level faults on a raw socket, JSON logs, start-up."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import orjson
import pytest

from tests.integration.mock_provider.real_process import control, log_entries, set_plan
from tests.support.services import RunningService, start_service

BODY = orjson.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
SOCKET_TIMEOUT_S = 10.0


@pytest.fixture(scope="module")
def service() -> Iterator[RunningService]:
    running = start_service("mock_provider", ["--token-interval-s", "0"])
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def healthy(service: RunningService) -> None:
    control(service, "POST", "/config/reset")


def raw_post(service: RunningService, request_id: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", service.port), timeout=SOCKET_TIMEOUT_S)
    sock.sendall(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: mock\r\nContent-Type: application/json\r\n"
        + f"X-Request-ID: {request_id}\r\nContent-Length: {len(BODY)}\r\n\r\n".encode()
        + BODY
    )
    return sock


def test_reset_fault_resets_the_connection_before_any_byte(service: RunningService) -> None:
    set_plan(service, {"provider": "openai", "script": ["reset"]})
    with raw_post(service, "rst") as sock, pytest.raises(ConnectionResetError):
        sock.recv(1024)
    (entry,) = log_entries(service, request_id="rst")
    assert (entry["fault"], entry["status"], entry["disconnected"]) == ("reset", None, False)


def test_timeout_fault_closes_the_connection_without_an_answer(service: RunningService) -> None:
    set_plan(
        service, {"provider": "openai", "script": ["timeout"], "timeout_duration_seconds": 0.2}
    )
    started = time.monotonic()
    with raw_post(service, "hang") as sock:
        assert sock.recv(1024) == b""
    assert time.monotonic() - started >= 0.2


def test_each_request_is_one_json_log_line_with_its_fault(service: RunningService) -> None:
    set_plan(service, {"provider": "openai", "script": ["503"]})
    with raw_post(service, "logged-1") as sock:
        assert sock.recv(1024).startswith(b"HTTP/1.1 503")
    # Lines are flushed in batches, within 0.1 s: wait for this request's (a readiness poll).
    logs = service.wait_for_log('"request_id":"logged-1"')
    lines = [orjson.loads(line) for line in logs.splitlines() if line.strip()]
    mine = [line for line in lines if line.get("request_id") == "logged-1"]
    assert len(mine) == 1
    assert (mine[0]["provider"], mine[0]["fault"], mine[0]["status"]) == ("openai", "503", 503)
    assert mine[0]["level"] == "INFO"


def fail_next_remaining(service: RunningService) -> int:
    remaining: int = control(service, "GET", "/config")["providers"]["openai"][
        "fail_next_remaining"
    ]
    return remaining


def test_sigterm_stops_promptly_even_with_a_hung_request() -> None:
    running = start_service("mock_provider")
    try:
        plan = {"fail_next": {"count": 1, "fault": "timeout"}, "timeout_duration_seconds": 60}
        set_plan(running, plan)
        with raw_post(running, "stuck"):
            deadline = time.monotonic() + SOCKET_TIMEOUT_S
            while fail_next_remaining(running) and time.monotonic() < deadline:
                time.sleep(0.02)  # readiness poll: the hang has begun once its fault is taken
            assert fail_next_remaining(running) == 0
            started = time.monotonic()
            assert running.stop(timeout_s=10.0) == 0
            assert time.monotonic() - started < 5.0
    finally:
        running.stop()


def test_bad_command_line_exits_with_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mock_provider", "--port", "not-a-port"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "--port" in result.stderr
