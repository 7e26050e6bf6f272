"""Reading a caller's body once, within its limits, for every caller API.

The failures are values each API renders in its own error shape: 413 over the size limit
(the connection stays usable), 408 for a body that trickles in or never completes, 400 for
a broken ``Content-Encoding`` (both close the connection: the rest of the body may still be
on the wire, or cannot be read).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiohttp import web

from orchestrator.config import ServerConfig


@dataclass
class BodyError(Exception):
    status: int
    message: str
    code: str
    reusable: bool  # False: the connection must close with the answer


async def read_body(request: web.Request, server: ServerConfig) -> bytes:
    limit = server.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)
    try:
        if request.content.is_eof():  # the whole body came with the head, as most do
            return await request.read()
        async with asyncio.timeout(server.body_read_timeout_s):
            return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise _too_large(limit) from None
    except TimeoutError:
        message = f"The request body did not arrive within {server.body_read_timeout_s:g} s."
        raise BodyError(408, message, "request_timeout", reusable=False) from None
    except web.RequestPayloadError as exc:  # a broken Content-Encoding, a body cut short
        reason = str(exc.__cause__ or exc)[:200]
        message = f"The request body could not be decoded as its Content-Encoding says: {reason}"
        raise BodyError(400, message, "invalid_content_encoding", reusable=False) from None


def _too_large(limit: int) -> BodyError:
    message = f"The request body is larger than the limit of {limit} bytes."
    return BodyError(413, message, "request_too_large", reusable=True)
