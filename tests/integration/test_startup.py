"""Start-up: a bad configuration stops the orchestrator with the key and value named."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import aiohttp

from tests.integration.observability_support import orchestrator, post_json
from tests.scenarios.target import chat_body
from tests.support.services import RunningService


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
