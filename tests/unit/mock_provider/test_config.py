from __future__ import annotations

import pytest

from mock_provider.config import DEFAULT_PORT, MockConfig, config_from_args


def test_defaults_accept_any_key_on_port_8001() -> None:
    config = config_from_args([], env={})
    assert config.port == DEFAULT_PORT
    assert config.openai_key is None
    assert config.anthropic_key is None
    assert config.seed is None


def test_environment_supplies_values_the_command_line_omits() -> None:
    env = {
        "MOCK_HOST": "0.0.0.0",
        "MOCK_PORT": "9001",
        "MOCK_SEED": "5",
        "MOCK_OPENAI_KEY": "sk-env",
        "MOCK_ANTHROPIC_KEY": "ak-env",
    }
    config = config_from_args([], env=env)
    assert (config.host, config.port, config.seed) == ("0.0.0.0", 9001, 5)
    assert (config.openai_key, config.anthropic_key) == ("sk-env", "ak-env")


def test_command_line_wins_over_environment() -> None:
    args = ["--port", "9002", "--seed", "6", "--openai-key", "sk-cli", "--token-interval-s", "0"]
    config = config_from_args(args, env={"MOCK_PORT": "9001", "MOCK_OPENAI_KEY": "sk-env"})
    assert (config.port, config.seed, config.openai_key) == (9002, 6, "sk-cli")
    assert config.token_interval_s == 0.0


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--port", "abc"], {}),
        ([], {"MOCK_PORT": "abc"}),
        (["--port", "70000"], {}),
        (["--token-interval-s", "-1"], {}),
        (["--log-level", "LOUD"], {}),
    ],
)
def test_bad_settings_exit_with_a_usage_error(args: list[str], env: dict[str, str]) -> None:
    with pytest.raises(SystemExit) as caught:
        config_from_args(args, env=env)
    assert caught.value.code == 2


def test_config_rejects_a_negative_seed() -> None:
    with pytest.raises(ValueError, match="seed"):
        MockConfig(seed=-1)
