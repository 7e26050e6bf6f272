"""Start-up: a bad configuration stops the orchestrator with the key and value named."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


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
