"""Start-up: a bad configuration stops the orchestrator with the key and value named."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import orjson
import pytest

from tests.integration.observability_support import orchestrator, post_json
from tests.scenarios.target import chat_body
from tests.support.services import RunningService, running


def _start(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", "--check-config", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_bad_environment_override_stops_start_up_naming_key_and_value() -> None:
    result = _start({"ORCH__BREAKER__OPEN_DURATION_S": "-1"})
    assert result.returncode == 2
    assert "breaker.open_duration_s" in result.stderr
    assert "-1" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_config_file_stops_start_up_naming_key_and_value(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[retry.backoff]\nbase_s = 5.0\ncap_s = 1.0\n", encoding="utf-8")
    result = _start({}, "--config", str(config))
    assert result.returncode == 2
    assert "retry.backoff.cap_s" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_key_is_rejected_not_ignored(tmp_path: Path) -> None:
    config = tmp_path / "typo.toml"
    config.write_text("[breaker]\nfailure_treshold = 3\n", encoding="utf-8")
    result = _start({}, "--config", str(config))
    assert result.returncode == 2
    assert "failure_treshold" in result.stderr


def test_default_configuration_is_valid() -> None:
    result = _start({})
    assert result.returncode == 0, result.stderr


async def test_a_provider_key_with_a_trailing_newline_still_serves(
    mock_service: RunningService,
) -> None:
    # As a key read from a secret file arrives: every call used to be a 500.
    with orchestrator(mock_service, OPENAI_API_KEY="sk-from-a-file\n") as service:
        async with aiohttp.ClientSession() as http:
            # The mock lives for the whole session: start from a healthy one.
            async with http.post(f"{mock_service.base_url}/config/reset") as reset:
                assert reset.status == 200
            url = f"{service.base_url}/v1/chat/completions"
            status, body, _ = await post_json(http, url, chat_body(model="gpt-4o"))
    assert status == 200, body
    assert body["provider"] == "openai"
    assert body["attempts"] == 1


def test_a_provider_key_that_cannot_be_a_header_stops_start_up_naming_its_variable() -> None:
    result = _start({"OPENAI_API_KEY": "sk-\x01secret"})
    assert result.returncode == 2
    assert "$OPENAI_API_KEY" in result.stderr
    assert "sk-" not in result.stderr
    assert "Traceback" not in result.stderr


def _run(module: str, *args: str, timeout_s: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


@pytest.mark.parametrize("module", ["orchestrator", "mock_provider"])
def test_a_port_in_use_is_one_line_and_exit_code_2(module: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _run(module, "--host", "127.0.0.1", "--port", str(port))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"{module}: cannot listen on 127.0.0.1:{port}: the address is already in use"
    )


@pytest.mark.parametrize("module", ["orchestrator", "mock_provider"])
def test_version_and_help_describe_each_flag(module: str) -> None:
    version = _run(module, "--version")
    assert version.returncode == 0
    assert re.fullmatch(rf"python -m {module} \S+\n", version.stdout)
    help_text = _run(module, "--help").stdout
    for flag in ("--host", "--port", "--version"):
        assert flag in help_text
    assert ("ORCH__SERVER__PORT" if module == "orchestrator" else "MOCK_PORT") in help_text


def _event_line(logs: str, event: str) -> dict[str, object]:
    line = next(line for line in logs.splitlines() if f'"event":"{event}"' in line)
    parsed: dict[str, object] = orjson.loads(line)
    return parsed


def test_the_orchestrator_says_when_it_listens_and_when_it_stops(
    mock_service: RunningService,
) -> None:
    with orchestrator(mock_service) as service:
        started = _event_line(service.wait_for_log('"event":"started"'), "started")
        assert started["listen"] == service.base_url
        assert (started["routes"], started["deployments"]) == (5, 6)
        assert started["config_source"] == "built-in defaults"
        assert started["version"]
    assert _event_line(service.logs(), "stopped")["version"] == started["version"]


async def test_an_unseeded_mock_logs_the_seed_it_actually_uses() -> None:
    with running("mock_provider") as mock:
        started = _event_line(mock.wait_for_log('"event":"started"'), "started")
        async with aiohttp.ClientSession() as http, http.get(f"{mock.base_url}/config") as got:
            shown = await got.json()
    assert isinstance(started["seed"], int)
    assert shown["seed"] == started["seed"]
