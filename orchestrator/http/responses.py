"""JSON answers and OpenAI-shaped errors, the same for every endpoint of the orchestrator."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

import orjson
from aiohttp import web

JSON_CONTENT_TYPE: Final = "application/json"
# Copied into each response's own headers; half the cost of content_type=, which parses it.
_JSON_HEADERS: Final = MappingProxyType({"Content-Type": JSON_CONTENT_TYPE})


def json_response(body: Mapping[str, Any], status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, headers=_JSON_HEADERS)


def error_response(
    status: int,
    body: dict[str, Any],
    request_id: str | None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """``body`` is an OpenAI error body; the request id goes in beside it."""
    body["request_id"] = request_id
    response = json_response(body, status)
    # Our own retries already happened: a client SDK retrying on top multiplies the load.
    response.headers["x-should-retry"] = "false"
    if headers:
        response.headers.update(headers)
    return response
