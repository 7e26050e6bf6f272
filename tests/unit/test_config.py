"""Configuration: defaults, the TOML file, environment overrides, and every validation error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from orchestrator.config import (
    AppConfig,
    BreakerPolicy,
    ConfigError,
    DeploymentConfig,
    default_config,
    load_config,
)
from orchestrator.config.sources import parse_scalar
from orchestrator.policies import PolicyError

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "orchestrator.example.toml"
SONNET = "claude-3-5-sonnet-20241022"


def load_toml(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> AppConfig:
    path = tmp_path / "orchestrator.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(str(path), environ or {})


def route_keys(config: AppConfig, model: str) -> list[tuple[str, str]]:
    return [(d.provider, d.model) for d in config.routes[model].deployments]


# --- defaults -------------------------------------------------------------------------------


def test_defaults_run_against_the_mock_on_loopback() -> None:
    config = default_config()
    assert {name: p.wire_format for name, p in config.providers.items()} == {
        "openai": "openai",
        "anthropic": "anthropic",
    }
    assert {p.base_url for p in config.providers.values()} == {"http://127.0.0.1:8001"}
    assert config.providers["openai"].api_key_env == "OPENAI_API_KEY"
    assert config.providers["anthropic"].api_key_env == "ANTHROPIC_API_KEY"
    assert {p.attempt_timeout_s for p in config.providers.values()} == {10.0}


def test_default_routes_fail_over_across_providers() -> None:
    config = default_config()
    assert route_keys(config, "gpt-4") == [("openai", "gpt-4"), ("anthropic", SONNET)]
    assert route_keys(config, "gpt-4o") == [("openai", "gpt-4o"), ("anthropic", SONNET)]
    assert route_keys(config, "gpt-4o-mini") == [
        ("openai", "gpt-4o-mini"),
        ("anthropic", "claude-3-5-haiku-20241022"),
    ]
    assert route_keys(config, SONNET) == [("anthropic", SONNET), ("openai", "gpt-4o")]
    assert config.routes["gpt-4"].deployments[0] == DeploymentConfig("openai", "gpt-4", 8192, 4096)


def test_default_policies_are_the_documented_ones() -> None:
    config = default_config()
    assert (config.retry.max_attempts_total, config.retry.max_attempts_per_deployment) == (6, 3)
    backoff = config.retry.backoff
    assert (backoff.base_s, backoff.multiplier, backoff.cap_s) == (2.0, 2.0, 30.0)
    assert config.breaker == BreakerPolicy(20, 30.0, 1, failure_rate_threshold=0.9)
    assert config.deadline.request_deadline_s == 60.0
    assert config.server.max_body_bytes == 1_048_576
    assert (config.server.host, config.server.port) == ("127.0.0.1", 8080)


def test_example_file_mirrors_the_defaults() -> None:
    assert load_config(str(EXAMPLE), {}) == default_config()


def test_no_path_and_no_orch_config_means_defaults() -> None:
    assert load_config(None, {}) == default_config()
    assert load_config(None, {"ORCH_CONFIG": ""}) == default_config()


# --- the file -------------------------------------------------------------------------------


def test_file_sections_override_key_by_key(tmp_path: Path) -> None:
    config = load_toml(tmp_path, "[server]\nport = 9001\n\n[retry.backoff]\nbase_s = 0.05\n")
    assert config.server.port == 9001
    assert config.server.host == "127.0.0.1"
    assert config.retry.backoff.base_s == 0.05
    assert config.retry.backoff.cap_s == 30.0
    assert config.routes == default_config().routes


def test_file_providers_and_routes_replace_the_defaults_whole(tmp_path: Path) -> None:
    config = load_toml(
        tmp_path,
        """
        [providers.local]
        wire_format = "anthropic"
        base_url = "http://127.0.0.1:9999/"

        [routes."my-model"]
        deployments = [
          {provider = "local", model = "m", context_window_tokens = 10, max_output_tokens = 5},
        ]
        """,
    )
    assert list(config.providers) == ["local"]
    assert list(config.routes) == ["my-model"]
    provider = config.providers["local"]
    assert provider.base_url == "http://127.0.0.1:9999"  # trailing slash dropped
    assert provider.attempt_timeout_s == 10.0
    assert provider.api_key_env is None
    assert provider.api_key is None


def test_orch_config_names_the_file_when_no_path_is_given(tmp_path: Path) -> None:
    path = tmp_path / "o.toml"
    path.write_text("[server]\nport = 9002\n", encoding="utf-8")
    assert load_config(None, {"ORCH_CONFIG": str(path)}).server.port == 9002


def test_explicit_path_wins_over_orch_config(tmp_path: Path) -> None:
    config = load_toml(tmp_path, "[server]\nport = 9003\n", {"ORCH_CONFIG": "/nonexistent.toml"})
    assert config.server.port == 9003


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'.*missing\.toml' cannot be read"):
        load_config(str(tmp_path / "missing.toml"), {})


def test_invalid_toml_is_a_config_error_with_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"is not valid TOML: .*line 2"):
        load_toml(tmp_path, "[server]\nport = = 1\n")


# --- environment ----------------------------------------------------------------------------


def test_env_overrides_reach_nested_keys_with_typed_values() -> None:
    config = load_config(
        None,
        {
            "ORCH__RETRY__BACKOFF__BASE_S": "0.05",
            "ORCH__SERVER__PORT": "9000",
            "ORCH__PROVIDERS__OPENAI__BASE_URL": "http://mock-provider:8001",
            "ORCH__BREAKER__FAILURE_RATE_THRESHOLD": "0.5",
        },
    )
    assert config.retry.backoff.base_s == 0.05
    assert config.server.port == 9000
    assert config.providers["openai"].base_url == "http://mock-provider:8001"
    assert config.providers["anthropic"].base_url == "http://127.0.0.1:8001"
    assert config.breaker.failure_rate_threshold == 0.5


def test_env_overrides_apply_on_top_of_the_file(tmp_path: Path) -> None:
    config = load_toml(tmp_path, "[server]\nport = 9001\n", {"ORCH__SERVER__PORT": "9002"})
    assert config.server.port == 9002


def test_env_override_matches_existing_keys_regardless_of_case(tmp_path: Path) -> None:
    config = load_toml(
        tmp_path,
        """
        [providers.OpenAI]
        wire_format = "openai"
        base_url = "http://127.0.0.1:8001"

        [routes.m]
        deployments = [
          {provider = "OpenAI", model = "m", context_window_tokens = 10, max_output_tokens = 5},
        ]
        """,
        {"ORCH__PROVIDERS__OPENAI__ATTEMPT_TIMEOUT_S": "0.5"},
    )
    assert config.providers["OpenAI"].attempt_timeout_s == 0.5


def test_text_settings_keep_env_text_that_looks_like_a_number() -> None:
    assert load_config(None, {"ORCH__SERVER__HOST": "1.5"}).server.host == "1.5"


def test_mock_base_url_points_every_provider_at_it() -> None:
    config = load_config(None, {"ORCH_MOCK_BASE_URL": "http://mock-provider:8001"})
    assert {p.base_url for p in config.providers.values()} == {"http://mock-provider:8001"}


def test_a_provider_specific_override_beats_the_mock_base_url() -> None:
    config = load_config(
        None,
        {
            "ORCH_MOCK_BASE_URL": "http://mock-provider:8001",
            "ORCH__PROVIDERS__ANTHROPIC__BASE_URL": "http://127.0.0.1:7000",
        },
    )
    assert config.providers["openai"].base_url == "http://mock-provider:8001"
    assert config.providers["anthropic"].base_url == "http://127.0.0.1:7000"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("9000", 9000),
        ("0.05", 0.05),
        ("true", True),
        ("false", False),
        ("INFO", "INFO"),
        ("http://mock-provider:8001", "http://mock-provider:8001"),
        ("127.0.0.1", "127.0.0.1"),
        ('"quoted"', '"quoted"'),  # only numbers and booleans are parsed
        ("1\nx = 2", "1\nx = 2"),
    ],
)
def test_env_values_are_toml_scalars_else_text(raw: str, expected: object) -> None:
    value = parse_scalar(raw)
    assert value == expected
    assert type(value) is type(expected)


# --- API keys -------------------------------------------------------------------------------


def test_api_keys_come_from_the_named_variables_and_never_show_in_repr() -> None:
    config = load_config(None, {"OPENAI_API_KEY": "sk-test-secret", "ANTHROPIC_API_KEY": ""})
    openai = config.providers["openai"]
    assert openai.api_key == "sk-test-secret"
    assert config.providers["anthropic"].api_key is None
    assert "sk-test-secret" not in repr(openai)
    assert "sk-test-secret" not in repr(config)


def test_a_key_written_into_the_file_is_rejected_without_echoing_it(tmp_path: Path) -> None:
    text = '[providers.openai]\nwire_format = "openai"\nbase_url = "http://x"\napi_key = "sk-leak"'
    with pytest.raises(ConfigError) as caught:
        load_toml(tmp_path, text)
    assert "providers.openai.api_key is not a known setting" in str(caught.value)
    assert "did you mean 'api_key_env'?" in str(caught.value)
    assert "sk-leak" not in str(caught.value)


def test_a_key_set_through_an_override_is_rejected_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(None, {"ORCH__PROVIDERS__OPENAI__API_KEY": "sk-leak"})
    assert "(set by ORCH__PROVIDERS__OPENAI__API_KEY)" in str(caught.value)
    assert "sk-leak" not in str(caught.value)


# --- validation -----------------------------------------------------------------------------

PROVIDERS = """
[providers.openai]
wire_format = "openai"
base_url = "http://127.0.0.1:8001"
"""


def deployment(
    provider: str = "openai", model: str = "gpt-4", ctx: int = 100, out: int = 50
) -> str:
    return (
        f'{{provider = "{provider}", model = "{model}", '
        f"context_window_tokens = {ctx}, max_output_tokens = {out}}}"
    )


def routes(**models: list[str]) -> str:
    return "\n".join(
        f'[routes."{name}"]\ndeployments = [{", ".join(items)}]\n' for name, items in models.items()
    )


FILE_ERRORS = [
    ("[breaker]\nopen_duration_s = -1", "breaker.open_duration_s=-1 must be > 0"),
    ("[breaker]\nfailure_threshold = 0", "breaker.failure_threshold=0 must be >= 1"),
    ("[breaker]\nhalf_open_max_probes = 0", "breaker.half_open_max_probes=0 must be >= 1"),
    ("[breaker]\nfailure_rate_threshold = 1.5", "breaker.failure_rate_threshold=1.5 must be > 0"),
    ("[breaker]\nfailure_rate_threshold = 0", "breaker.failure_rate_threshold=0 must be > 0"),
    ("[breaker]\nwindow_size = 0", "breaker.window_size=0 must be >= 1"),
    (
        "[breaker]\nwindow_size = 5\nmin_calls_in_window = 6",
        "breaker.min_calls_in_window=6 must be >= 1 and <= window_size (5)",
    ),
    ("[breaker]\nopen_duration_s = nan", "breaker.open_duration_s=nan must be a finite number"),
    ("[retry]\nmax_attempts_total = 0", "retry.max_attempts_total=0 must be >= 1"),
    (
        "[retry]\nmax_attempts_per_deployment = 0",
        "retry.max_attempts_per_deployment=0 must be >= 1",
    ),
    ("[retry]\nshort_retry_after_max_s = -1", "retry.short_retry_after_max_s=-1 must be >= 0"),
    ("[retry.backoff]\ncap_s = 1", "retry.backoff.cap_s=1 must be >= base_s"),
    ("[retry.backoff]\nbase_s = -0.5", "retry.backoff.base_s=-0.5 must be >= 0"),
    ("[retry.backoff]\nmultiplier = 0.5", "retry.backoff.multiplier=0.5 must be >= 1"),
    ("[retry.backoff]\nbase_s = inf", "retry.backoff.base_s=inf must be a finite number"),
    ("[retry]\nmax_attempts_total = 2.5", "retry.max_attempts_total=2.5 must be an integer"),
    ("[deadline]\nrequest_deadline_s = 0", "deadline.request_deadline_s=0 must be > 0"),
    ('[deadline]\nrequest_deadline_s = "5"', "deadline.request_deadline_s='5' must be a number"),
    ("[server]\nport = 70000", "server.port=70000 must be between 1 and 65535"),
    ("[server]\nport = 0", "server.port=0 must be between 1 and 65535"),
    ("[server]\nport = true", "server.port=True must be an integer"),
    ("[server]\nmax_body_bytes = 0", "server.max_body_bytes=0 must be >= 1"),
    ('[server]\nlog_level = "LOUD"', "server.log_level='LOUD' must be one of DEBUG, INFO"),
    ('[server]\nhost = ""', "server.host='' must not be empty"),
    ("server = 5", "server=5 must be a table"),
    ("[server]\nprot = 9000", "server.prot is not a known setting; did you mean 'port'?"),
    ("[sever]\nport = 9000", "sever is not a known setting; did you mean 'server'?"),
    ("[breaker]\nopen_duration = 5", "breaker.open_duration is not a known setting; did you"),
    (
        PROVIDERS.replace('"openai"\n', '"grpc"\n'),
        "providers.openai.wire_format='grpc' must be one of 'anthropic', 'openai'",
    ),
    (
        PROVIDERS.replace("http://127.0.0.1:8001", "ftp://127.0.0.1"),
        "providers.openai.base_url='ftp://127.0.0.1' must be an http(s) URL",
    ),
    (
        PROVIDERS.replace("http://127.0.0.1:8001", "127.0.0.1:8001"),
        "providers.openai.base_url='127.0.0.1:8001' must be an http(s) URL",
    ),
    (
        PROVIDERS.replace("http://127.0.0.1:8001", "http://127.0.0.1:99999"),
        "providers.openai.base_url='http://127.0.0.1:99999' must be an http(s) URL",
    ),
    (
        PROVIDERS + "attempt_timeout_s = 0\n",
        "providers.openai.attempt_timeout_s=0 must be > 0",
    ),
    (PROVIDERS + 'api_key_env = ""\n', "providers.openai.api_key_env='' must be an environment"),
    ('[providers.openai]\nwire_format = "openai"', "providers.openai.base_url is required"),
    ("[providers]", "providers must configure at least one provider"),
    ('[providers."a/b"]\nwire_format = "openai"', "providers.\"a/b\"='a/b' is not a usable"),
    (
        PROVIDERS + routes(**{"gpt-4": [deployment(), deployment("opnai", "gpt-4o")]}),
        "routes.gpt-4.deployments[1].provider='opnai' is not a configured provider",
    ),
    (PROVIDERS + routes(m=[]), "routes.m.deployments=[] must be a non-empty array of tables"),
    (PROVIDERS + "[routes.m]\n", "routes.m.deployments is required"),
    (PROVIDERS + "[routes]\n", "routes must map at least one public model name"),
    (
        PROVIDERS + routes(m=[deployment(ctx=0)]),
        "routes.m.deployments[0].context_window_tokens=0 must be >= 1",
    ),
    (
        PROVIDERS + routes(m=[deployment(ctx=10, out=11)]),
        "routes.m.deployments[0].max_output_tokens=11 must be <= context_window_tokens (10)",
    ),
    (
        PROVIDERS + routes(m=[deployment(model="")]),
        "routes.m.deployments[0].model='' must be a non-empty model name",
    ),
    (
        PROVIDERS + routes(m=[deployment(), deployment()]),
        "routes.m.deployments[1]='openai/gpt-4' is already listed at routes.m.deployments[0]",
    ),
    (
        PROVIDERS + routes(a=[deployment(ctx=100)], b=[deployment(ctx=200)]),
        "routes.b.deployments[0]='openai/gpt-4' has context_window_tokens=200",
    ),
    (
        PROVIDERS + routes(**{"gpt-4.1": [deployment(), "5"]}),
        'routes."gpt-4.1".deployments[1]=5 must be a table',
    ),
]


@pytest.mark.parametrize(("text", "message"), FILE_ERRORS, ids=[m for _, m in FILE_ERRORS])
def test_bad_file_values_are_rejected_naming_key_and_value(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}"):
        load_toml(tmp_path, text)


ENV_ERRORS = [
    (
        {"ORCH__BREAKER__OPEN_DURATION_S": "-1"},
        "breaker.open_duration_s=-1 must be > 0 (set by ORCH__BREAKER__OPEN_DURATION_S)",
    ),
    (
        {"ORCH__RETRY__BACKOFF__CAP_S": "0.01"},
        "retry.backoff.cap_s=0.01 must be >= base_s (set by ORCH__RETRY__BACKOFF__CAP_S)",
    ),
    (
        {"ORCH__SERVER__PORT": "nine"},
        "server.port='nine' must be an integer (set by ORCH__SERVER__PORT)",
    ),
    (
        {"ORCH__SERVER__PROT": "9000"},
        "server.prot is not a known setting (set by ORCH__SERVER__PROT); did you mean 'port'?",
    ),
    ({"ORCH__NOPE__X": "1"}, "nope is not a known setting (set by ORCH__NOPE__X)"),
    ({"ORCH__SERVER__PORT__X": "1"}, "server.port={'x': 1} must be an integer"),
    ({"ORCH__SERVER____PORT": "1"}, "ORCH__SERVER____PORT: an override is ORCH__<SECTION>__<KEY>"),
    (
        {"ORCH_MOCK_BASE_URL": "mock-provider"},
        "providers.openai.base_url='mock-provider' must be an http(s) URL such as "
        "http://127.0.0.1:8001 (set by ORCH_MOCK_BASE_URL)",
    ),
]


@pytest.mark.parametrize(("environ", "message"), ENV_ERRORS, ids=[m for _, m in ENV_ERRORS])
def test_bad_env_overrides_are_rejected_naming_key_value_and_variable(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}"):
        load_config(None, environ)


def test_override_into_a_value_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^ORCH__SERVER__PORT__X: server\.port is a value"):
        load_toml(tmp_path, "[server]\nport = 9000\n", {"ORCH__SERVER__PORT__X": "1"})


def test_a_policy_error_surfaces_as_a_config_error_not_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_toml(tmp_path, "[retry.backoff]\nmultiplier = 0.5")
    assert not isinstance(caught.value, PolicyError)


def test_breaker_policy_rejects_bad_values_when_built_in_code() -> None:
    with pytest.raises(PolicyError, match=r"^breaker\.open_duration_s=0 must be > 0$"):
        BreakerPolicy(open_duration_s=0)


def test_a_key_read_with_a_trailing_newline_is_stripped() -> None:
    # What `kubectl create secret --from-file` or `echo "$KEY" > file` leaves behind.
    config = load_config(
        None, {"OPENAI_API_KEY": "sk-test-secret\n", "ORCH_ADMIN_TOKEN": "  tok \r\n"}
    )
    assert config.providers["openai"].api_key == "sk-test-secret"
    assert config.admin.token == "tok"


@pytest.mark.parametrize("bad", ["sk-a\nb", "sk-\x00b", "sk-é"])
def test_a_key_that_cannot_travel_in_a_header_stops_start_up_naming_the_variable(
    bad: str,
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(None, {"OPENAI_API_KEY": bad})
    message = str(caught.value)
    assert "$OPENAI_API_KEY" in message
    assert "providers.openai" in message
    assert bad not in message
    assert "sk-" not in message


def test_an_admin_token_that_cannot_travel_in_a_header_stops_start_up() -> None:
    with pytest.raises(ConfigError, match=r"\$ORCH_ADMIN_TOKEN"):
        load_config(None, {"ORCH_ADMIN_TOKEN": "a\x7fb"})


def test_wire_formats_are_the_provider_registry_s(tmp_path: Path) -> None:
    text = '[providers.x]\nwire_format = "gemini"\nbase_url = "http://x"'
    with pytest.raises(ConfigError, match="'anthropic', 'openai'"):
        load_toml(tmp_path, text)
