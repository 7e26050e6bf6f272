"""``GET /v1/models`` and ``/v1/models/{id}``: the public names the routes serve, to every API.

One body serves both SDKs: each entry has OpenAI's fields (``object``, ``created``,
``owned_by``) and Anthropic's (``type``, ``display_name``, ``created_at``), and the list
both ``object: list`` and Anthropic's paging fields (one page holds them all).
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from orchestrator.http.keys import CONFIG_KEY
from orchestrator.http.responses import error_response, json_response
from orchestrator.telemetry.logs import REQUEST_ID
from shared.models import openai_error_body, shown

MODELS_PATH: Final = "/v1/models"
_EPOCH: Final = "1970-01-01T00:00:00Z"  # routes have no creation date; a fixed one is honest


def model_entry(name: str) -> dict[str, Any]:
    return {
        "id": name,
        "object": "model",
        "created": 0,
        "owned_by": "orchestrator",
        "type": "model",
        "display_name": name,
        "created_at": _EPOCH,
    }


async def list_models(request: web.Request) -> web.Response:
    names = sorted(request.app[CONFIG_KEY].routes)
    return json_response(
        {
            "object": "list",
            "data": [model_entry(name) for name in names],
            "has_more": False,
            "first_id": names[0] if names else None,
            "last_id": names[-1] if names else None,
        }
    )


async def get_model(request: web.Request) -> web.Response:
    name = request.match_info["model"]
    if name not in request.app[CONFIG_KEY].routes:
        message = f"The model '{shown(name)}' does not exist or you do not have access to it."
        body = openai_error_body(message, "invalid_request_error", "model", "model_not_found")
        if "anthropic-version" in request.headers:
            body = {"type": "error", "error": {"type": "not_found_error", "message": message}}
        return error_response(404, body, REQUEST_ID.get())
    return json_response(model_entry(name))
