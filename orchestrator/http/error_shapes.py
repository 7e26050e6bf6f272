"""An error body in the shape of the caller API a path belongs to.

The middlewares answer before any handler runs (401, 404, 405, 500), so they pick the shape
by path: the Messages API's paths get Anthropic's, every other path OpenAI's.
"""

from __future__ import annotations

from typing import Any, Final

from orchestrator.http.anthropic_render import anthropic_error_body
from shared.models import openai_error_body

ANTHROPIC_PREFIX: Final = "/v1/messages"


def speaks_anthropic(path: str) -> bool:
    return path.startswith(ANTHROPIC_PREFIX)


def error_body_for(path: str, status: int, message: str, code: str | None) -> dict[str, Any]:
    if speaks_anthropic(path):
        return anthropic_error_body(status, message, code=code)
    error_type = "invalid_request_error" if status < 500 else "server_error"
    return openai_error_body(message, error_type, None, code)
