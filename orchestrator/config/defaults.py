"""The built-in settings: the out-of-the-box setup against the mock provider on
127.0.0.1:8001, as a TOML-shaped document the loader validates like any file."""

from __future__ import annotations

from typing import Any, Final

from orchestrator.config.sections import DEFAULT_ATTEMPT_TIMEOUT_S, DEFAULT_PROVIDER_BASE_URL
from orchestrator.config.sources import Document

_SONNET: Final = "claude-3-5-sonnet-20241022"
_HAIKU: Final = "claude-3-5-haiku-20241022"
EMBEDDING_MODEL: Final = "text-embedding-3-small"


def default_document() -> Document:
    """The built-in settings as a TOML-shaped document (a fresh copy on every call).

    Sections left out here take the policies' own defaults.
    """

    def deployment(provider: str, model: str, context: int, output: int) -> dict[str, Any]:
        return {
            "provider": provider,
            "model": model,
            "context_window_tokens": context,
            "max_output_tokens": output,
        }

    def provider(wire_format: str, key_env: str) -> dict[str, Any]:
        return {
            "wire_format": wire_format,
            "base_url": DEFAULT_PROVIDER_BASE_URL,
            "api_key_env": key_env,
            "attempt_timeout_s": DEFAULT_ATTEMPT_TIMEOUT_S,
        }

    sonnet = deployment("anthropic", _SONNET, 200_000, 8_192)
    gpt_4o = deployment("openai", "gpt-4o", 128_000, 16_384)
    return {
        "providers": {
            "openai": provider("openai", "OPENAI_API_KEY"),
            "anthropic": provider("anthropic", "ANTHROPIC_API_KEY"),
        },
        "routes": {
            "gpt-4": {"deployments": [deployment("openai", "gpt-4", 8_192, 4_096), sonnet]},
            "gpt-4o": {"deployments": [gpt_4o, dict(sonnet)]},
            "gpt-4o-mini": {
                "deployments": [
                    deployment("openai", "gpt-4o-mini", 128_000, 16_384),
                    deployment("anthropic", _HAIKU, 200_000, 8_192),
                ]
            },
            _SONNET: {"deployments": [dict(sonnet), dict(gpt_4o)]},
            # Embeddings: each input's tokens must fit the context window; an embedding has
            # no output tokens, so max_output_tokens is 1.
            EMBEDDING_MODEL: {
                "deployments": [deployment("openai", EMBEDDING_MODEL, 8_191, 1)],
            },
        },
    }
