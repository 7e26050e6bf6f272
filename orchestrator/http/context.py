"""Every request's context: its id in and out, an error body instead of a stack trace, and
one JSON access line once the answer is sent."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Final

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest

from orchestrator.http.caller_auth import CALLER_KEY
from orchestrator.http.error_shapes import error_body_for
from orchestrator.http.request_ids import RequestIds
from orchestrator.http.responses import error_response
from orchestrator.telemetry.logs import REQUEST_ID
from shared.jsonlog import log_fields

log: Final = logging.getLogger("orchestrator")

# (public model, provider that answered or None, attempts): folded into the access line, so a
# healthy request costs one log line and still says who answered it.
SUMMARY_KEY: Final = web.RequestKey("summary", tuple[str, str | None, int])

REQUEST_ID_HEADER: Final = "X-Request-ID"
REQUEST_IDS_KEY: Final = web.AppKey("request_ids", RequestIds)
_SANE_REQUEST_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def request_id_from(request: web.Request) -> str:
    given = request.headers.get(REQUEST_ID_HEADER)
    if given is not None and _SANE_REQUEST_ID.fullmatch(given):
        return given
    return request.app[REQUEST_IDS_KEY].new()


@web.middleware
async def request_context_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Request id in, request id out, and never a stack trace (the access line: below)."""
    request_id = request_id_from(request)
    token = REQUEST_ID.set(request_id)
    try:
        response = await _guarded(request, handler, request_id)
        response.headers[REQUEST_ID_HEADER] = request_id
        return response
    finally:
        REQUEST_ID.reset(token)


async def _guarded(request: web.Request, handler: Handler, request_id: str) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        body = error_body_for(request.path, exc.status, exc.reason, None)
        return error_response(exc.status, body, request_id)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("unhandled error", extra={"event": "internal_error"})
        message = (
            "The orchestrator hit an internal error; the request id is in this body and in "
            "the logs."
        )
        return error_response(
            500, error_body_for(request.path, 500, message, "internal_error"), request_id
        )


class AccessLine(AbstractAccessLogger):
    """One JSON access line per request, written by aiohttp once the answer is sent.

    ``python -m orchestrator`` passes it to ``run_app`` (``access_log_class``): the line
    costs the caller no latency, and it is written even when the client hung up early.
    """

    def log(self, request: BaseRequest, response: web.StreamResponse, time: float) -> None:
        # Health probes every few seconds would drown the requests that matter.
        if request.path.startswith("/health") and response.status == 200:
            return
        if not self.logger.isEnabledFor(logging.INFO) and response.status < 500:
            return
        fields: dict[str, object] = {
            "request_id": response.headers.get(REQUEST_ID_HEADER),
            "event": "access",
            "method": request.method,
            "path": request.path,
            "status": response.status,
            "duration_ms": round(time * 1000.0, 3),
        }
        caller = request.get(CALLER_KEY)
        if caller is not None:
            fields["caller"] = caller
        summary = request.get(SUMMARY_KEY)
        if summary is not None:
            fields["model"], fields["provider"], fields["attempts"] = summary
        if response.status >= 500:
            # Our own failure to serve (every provider failed, a deadline passed): a warning.
            self.logger.warning("request", extra=fields)
        else:
            log_fields(self.logger, "request", fields)
