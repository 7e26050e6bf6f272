"""Caller keys: who may spend the operator's provider budget (``[auth]``, off by default).

A key comes as ``Authorization: Bearer <key>`` (the OpenAI SDK) or ``x-api-key: <key>``
(the Anthropic SDK). Its SHA-256 is compared with every configured digest in constant
time; a missing or wrong key is a 401 in the caller API's error shape and no upstream call.
The key's *name* is what logs, journeys and metrics show.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from typing import Final

from aiohttp import web
from aiohttp.typedefs import Middleware

from orchestrator.config import AuthConfig
from orchestrator.http.error_shapes import error_body_for
from orchestrator.http.responses import error_response
from orchestrator.telemetry.logs import CALLER, REQUEST_ID

CALLER_KEY: Final = web.RequestKey("caller", str)
CALLER_PATHS: Final = frozenset(
    {
        "/v1/chat/completions",
        "/v1/messages",
        "/v1/messages/count_tokens",
        "/v1/embeddings",
        "/v1/models",
    }
)
"""The caller APIs; admin and health endpoints have their own rules."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def presented_key(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("x-api-key", "").strip() or None


def caller_name(auth: AuthConfig, key: str) -> str | None:
    """The name of the configured key ``key`` is, or None; every digest is compared."""
    given = hashlib.sha256(key.encode()).digest()
    found = None
    for name, digest in auth.key_digests:
        if hmac.compare_digest(given, digest):
            found = name
    return found


def caller_auth_middleware(auth: AuthConfig) -> Middleware:
    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not auth.enabled or not _is_caller_path(request.path):
            return await handler(request)
        key = presented_key(request)
        name = caller_name(auth, key) if key is not None else None
        if name is None:
            return _unauthorized(request.path, key is None)
        request[CALLER_KEY] = name
        token = CALLER.set(name)
        try:
            return await handler(request)
        finally:
            CALLER.reset(token)

    return authenticate


def _is_caller_path(path: str) -> bool:
    return path in CALLER_PATHS or path.startswith("/v1/models/")


def _unauthorized(path: str, missing: bool) -> web.Response:
    what = "No API key was provided" if missing else "The API key provided is not valid"
    message = f"{what}. Send a caller key as 'Authorization: Bearer <key>' or 'x-api-key: <key>'."
    body = error_body_for(path, 401, message, "invalid_api_key")
    response = error_response(401, body, REQUEST_ID.get())
    response.headers["WWW-Authenticate"] = 'Bearer realm="orchestrator"'
    return response
