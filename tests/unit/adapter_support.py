"""Deployments for adapter tests: one provider serving one model, with or without a key."""

from __future__ import annotations

from orchestrator.config import ProviderConfig
from orchestrator.routing.router import Deployment


def deployment(
    wire_format: str,
    *,
    model: str = "upstream-model",
    api_key: str | None = "sk-test",
    base_url: str = "http://127.0.0.1:8001",
    max_output_tokens: int = 8192,
) -> Deployment:
    provider = ProviderConfig(
        name=wire_format,
        wire_format=wire_format,
        base_url=base_url,
        attempt_timeout_s=1.0,
        api_key_env="TEST_KEY" if api_key else None,
        api_key=api_key,
    )
    return Deployment(
        key=f"{wire_format}/{model}",
        provider=provider,
        model=model,
        context_window_tokens=100_000,
        max_output_tokens=max_output_tokens,
    )
