"""The [admin] and [observability] settings: defaults, environment, and start-up errors."""

from __future__ import annotations

import pytest

from orchestrator.config import ConfigError, load_config


def test_defaults_keep_admin_actions_closed_and_a_thousand_journeys() -> None:
    config = load_config(None, {})
    assert config.admin.token_env == "ORCH_ADMIN_TOKEN"
    assert config.admin.token is None
    assert config.admin.allow_unauthenticated is False
    assert config.observability.journeys_max == 1000
    assert config.observability.latency_window_size == 512


def test_admin_token_is_read_from_the_named_variable_and_kept_out_of_repr() -> None:
    environ = {"ORCH__ADMIN__TOKEN_ENV": "MY_ADMIN", "MY_ADMIN": "tok-secret-123"}
    admin = load_config(None, environ).admin
    assert admin.token == "tok-secret-123"
    assert "tok-secret-123" not in repr(admin)


def test_empty_token_variable_means_no_token() -> None:
    assert load_config(None, {"ORCH_ADMIN_TOKEN": ""}).admin.token is None


def test_allow_unauthenticated_takes_a_boolean_from_the_environment() -> None:
    config = load_config(None, {"ORCH__ADMIN__ALLOW_UNAUTHENTICATED": "true"})
    assert config.admin.allow_unauthenticated is True


def test_allow_unauthenticated_rejects_a_non_boolean_naming_key_and_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(None, {"ORCH__ADMIN__ALLOW_UNAUTHENTICATED": "yes"})
    message = str(caught.value)
    assert "admin.allow_unauthenticated='yes' must be true or false" in message
    assert "ORCH__ADMIN__ALLOW_UNAUTHENTICATED" in message


@pytest.mark.parametrize("key", ["journeys_max", "latency_window_size"])
def test_observability_sizes_below_one_fail_at_start(key: str) -> None:
    with pytest.raises(ConfigError, match=f"observability.{key}=0 must be >= 1"):
        load_config(None, {f"ORCH__OBSERVABILITY__{key.upper()}": "0"})


def test_a_typo_in_observability_is_reported_with_a_suggestion() -> None:
    with pytest.raises(ConfigError, match="did you mean 'journeys_max'"):
        load_config(None, {"ORCH__OBSERVABILITY__JOURNEY_MAX": "5"})
