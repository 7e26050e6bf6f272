"""Capabilities decide the plan: what a request needs, what each deployment declares, the
plan's skips (and why), and the 400 when no deployment can honour the request."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from orchestrator.breaker import BreakerRegistry
from orchestrator.capabilities import WIRE_FORMAT_DEFAULTS, Capability, needs, resolve
from orchestrator.config import (
    AppConfig,
    BreakerPolicy,
    DeploymentConfig,
    ProviderConfig,
    RouteConfig,
    ServerConfig,
    load_config,
)
from orchestrator.config.sources import ConfigError
from orchestrator.http.validation import ValidationError, validate_chat_request
from orchestrator.routing.router import Router
from shared.chat_parsing import parse_chat_request
from tests.unit.fakes import FakeClock

TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
IMAGE = {"type": "image_url", "image_url": {"url": "https://example.test/a.png"}}


def chat(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "mixed", "messages": [{"role": "user", "content": "hi"}]}
    body.update(fields)
    return body


def _config() -> AppConfig:
    providers = {
        "openai": ProviderConfig("openai", "openai", "http://127.0.0.1:1", 1.0),
        "anthropic": ProviderConfig("anthropic", "anthropic", "http://127.0.0.1:1", 1.0),
    }
    both = (
        DeploymentConfig("anthropic", "claude", 200_000, 8_000),
        DeploymentConfig("openai", "gpt", 128_000, 8_000),
    )
    only_anthropic = (DeploymentConfig("anthropic", "claude", 200_000, 8_000),)
    return AppConfig(
        server=ServerConfig(),
        providers=providers,
        routes={
            "mixed": RouteConfig("mixed", both),
            "claude-only": RouteConfig("claude-only", only_anthropic),
        },
        breaker=BreakerPolicy(),
    )


@pytest.fixture
def router() -> Router:
    return Router(_config(), BreakerRegistry(BreakerPolicy(), FakeClock()), FakeClock())


def test_a_plain_text_request_needs_nothing() -> None:
    assert needs(parse_chat_request(chat())) == ()


@pytest.mark.parametrize(
    ("fields", "capability", "param"),
    [
        ({"n": 2}, Capability.MULTIPLE_CHOICES, "n"),
        ({"tools": [TOOL]}, Capability.TOOLS, "tools"),
        ({"logprobs": True}, Capability.LOGPROBS, "logprobs"),
        ({"response_format": {"type": "json_object"}}, Capability.JSON_MODE, "response_format"),
        (
            {"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, IMAGE]}]},
            Capability.IMAGES,
            "messages[0].content[1]",
        ),
    ],
)
def test_what_a_request_asks_for_is_a_need_naming_its_field(
    fields: dict[str, Any], capability: Capability, param: str
) -> None:
    [need] = needs(parse_chat_request(chat(**fields)))
    assert (need.capability, need.param) == (capability, param)


def test_a_schema_with_tools_needs_both_together() -> None:
    schema = {"type": "json_schema", "json_schema": {"name": "p", "schema": {"type": "object"}}}
    found = {
        n.capability for n in needs(parse_chat_request(chat(tools=[TOOL], response_format=schema)))
    }
    assert found == {
        Capability.TOOLS,
        Capability.JSON_SCHEMA,
        Capability.STRUCTURED_OUTPUT_WITH_TOOLS,
    }


def test_anthropic_has_no_n_or_logprobs_and_only_it_takes_prefill() -> None:
    anthropic, openai = WIRE_FORMAT_DEFAULTS["anthropic"], WIRE_FORMAT_DEFAULTS["openai"]
    assert Capability.MULTIPLE_CHOICES not in anthropic
    assert Capability.LOGPROBS not in anthropic
    assert Capability.PREFILL in anthropic
    assert Capability.PREFILL not in openai
    assert {Capability.TOOLS, Capability.IMAGES, Capability.JSON_SCHEMA} <= anthropic & openai


def test_overrides_apply_in_order() -> None:
    provider = (("n", False), ("prefill", True))
    deployment = (("n", True),)
    resolved = resolve("openai", provider, deployment)
    assert Capability.MULTIPLE_CHOICES in resolved
    assert Capability.PREFILL in resolved


def test_the_plan_skips_a_deployment_that_cannot_honour_the_request(router: Router) -> None:
    plan = router.plan(parse_chat_request(chat(n=2)))
    assert [d.key for d in plan.deployments] == ["openai/gpt"]
    [(skipped, need)] = plan.skipped_unable
    assert (skipped.key, need.param) == ("anthropic/claude", "n")


def test_a_request_no_deployment_can_honour_is_a_400_naming_the_field(router: Router) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_chat_request(orjson.dumps(chat(model="claude-only", logprobs=True)), router)
    error = caught.value
    assert (error.status, error.param, error.code) == (400, "logprobs", "unsupported_parameter")
    assert "logprobs" in error.message


def test_a_fallback_that_can_honour_it_makes_it_valid(router: Router) -> None:
    body = chat(model="claude-only", n=2, fallbacks=["mixed"])
    assert validate_chat_request(orjson.dumps(body), router).n == 2


def test_capabilities_are_configured_per_provider_and_per_deployment() -> None:
    config = load_config(None, {"ORCH__PROVIDERS__OPENAI__CAPABILITIES__N": "false"})
    router = Router(config, BreakerRegistry(config.breaker, FakeClock()), FakeClock())
    route = router.route("gpt-4o")
    assert route is not None
    assert all(Capability.MULTIPLE_CHOICES not in d.capabilities for d in route)


def test_an_unknown_capability_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not a capability"):
        load_config(None, {"ORCH__PROVIDERS__OPENAI__CAPABILITIES__TELEPATHY": "true"})


def test_a_deployment_table_overrides_its_provider(tmp_path: Any) -> None:
    path = tmp_path / "orchestrator.toml"
    path.write_text(
        """
[providers.vllm]
wire_format = "openai"
base_url = "http://127.0.0.1:9"
capabilities = { logprobs = false }

[[routes."local".deployments]]
provider = "vllm"
model = "small"
context_window_tokens = 8192
max_output_tokens = 1024
capabilities = { n = false }

[[routes."local".deployments]]
provider = "vllm"
model = "large"
context_window_tokens = 8192
max_output_tokens = 1024
"""
    )
    config = load_config(str(path), {})
    router = Router(config, BreakerRegistry(config.breaker, FakeClock()), FakeClock())
    small, large = router.route("local") or ()
    assert Capability.MULTIPLE_CHOICES not in small.capabilities
    assert Capability.LOGPROBS not in small.capabilities  # the provider's table still applies
    assert Capability.MULTIPLE_CHOICES in large.capabilities
    assert Capability.LOGPROBS not in large.capabilities
