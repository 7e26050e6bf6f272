"""``create_app(config)``: the mock's routes and per-app state (no module globals)."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from mock_provider import anthropic_api, embeddings, openai_api
from mock_provider.clock import Clock, SystemClock
from mock_provider.config import MockConfig
from mock_provider.control import add_control_routes
from mock_provider.serving import chat_handler
from mock_provider.state import STATE_KEY, MockState

MAX_BODY_BYTES: Final = 32 * 1024 * 1024
"""Large enough for the huge prompts that context-length tests send."""

CONFIG_KEY: Final = web.AppKey("mock_config", MockConfig)

__all__ = ["CONFIG_KEY", "STATE_KEY", "MockConfig", "create_app"]


def create_app(config: MockConfig, *, clock: Clock | None = None) -> web.Application:
    """The mock provider app; tests pass a fake ``clock`` to drive outages and the limiter."""
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[CONFIG_KEY] = config
    app[STATE_KEY] = MockState(config, clock or SystemClock())
    app.router.add_post(openai_api.PATH, chat_handler(openai_api.OpenAIDialect()))
    app.router.add_post(anthropic_api.PATH, chat_handler(anthropic_api.AnthropicDialect()))
    app.router.add_post(embeddings.PATH, chat_handler(embeddings.EmbeddingsDialect()))
    add_control_routes(app)
    return app
