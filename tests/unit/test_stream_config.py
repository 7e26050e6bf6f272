"""Stream limits: [stream] defaults, per-route overrides, and errors naming the key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from orchestrator.config import ConfigError, StreamPolicy, load_config
from orchestrator.engine.attempt import stream_policy_for
from shared.models import ChatMessage, ChatRequest


def test_built_in_stream_policy_applies_to_every_route() -> None:
    config = load_config(None, {})
    assert config.stream == StreamPolicy()
    assert all(route.stream == StreamPolicy() for route in config.routes.values())


def test_stream_section_sets_defaults_and_a_route_overrides_them(tmp_path: Path) -> None:
    path = tmp_path / "orch.toml"
    path.write_text(
        "[stream]\nfirst_token_timeout_s = 4.0\nidle_timeout_s = 9\n"
        '[routes."gpt-4"]\nstream_idle_timeout_s = 2.5\nstream_mode = "buffered"\n'
        'deployments = [{ provider = "openai", model = "gpt-4", '
        "context_window_tokens = 8192, max_output_tokens = 4096 }]\n"
        '[routes."other"]\ndeployments = [{ provider = "openai", model = "gpt-4", '
        "context_window_tokens = 8192, max_output_tokens = 4096 }]\n"
    )
    config = load_config(str(path), {})
    assert config.routes["gpt-4"].stream == StreamPolicy(4.0, 2.5, "buffered")
    assert config.routes["other"].stream == StreamPolicy(4.0, 9, "relay")


def test_environment_overrides_one_routes_stream_limit() -> None:
    config = load_config(None, {"ORCH__ROUTES__GPT-4__STREAM_FIRST_TOKEN_TIMEOUT_S": "0.3"})
    assert config.routes["gpt-4"].stream.first_token_timeout_s == 0.3
    assert (
        config.routes["gpt-4o"].stream.first_token_timeout_s == StreamPolicy().first_token_timeout_s
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ORCH__STREAM__IDLE_TIMEOUT_S": "0"}, "stream.idle_timeout_s=0 must be > 0"),
        ({"ORCH__STREAM__MODE": "later"}, "stream.mode='later' must be 'relay' or 'buffered'"),
        (
            {"ORCH__ROUTES__GPT-4__STREAM_FIRST_TOKEN_TIMEOUT_S": "-1"},
            "routes.gpt-4.stream_first_token_timeout_s=-1 must be > 0",
        ),
        ({"ORCH__STREAM__IDLE_TIMEOUT": "3"}, "stream.idle_timeout is not a known setting"),
    ],
)
def test_bad_stream_settings_fail_at_start_naming_the_key(
    env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match="^" + re.escape(message)):
        load_config(None, env)


def test_stream_policy_refuses_a_non_positive_limit() -> None:
    with pytest.raises(ValueError, match="first_token_timeout_s=0"):
        StreamPolicy(first_token_timeout_s=0)


def test_the_requests_stream_mode_overrides_the_routes() -> None:
    request = ChatRequest(
        "gpt-4", (ChatMessage("user", "hi"),), stream=True, extra={"stream_mode": "buffered"}
    )
    routes = {"gpt-4": StreamPolicy(idle_timeout_s=3.0)}
    assert stream_policy_for(request, routes) == StreamPolicy(idle_timeout_s=3.0, mode="buffered")
