"""The benchmark's yardstick: the least an aiohttp proxy can do in front of the mock.

``python -m tools.passthrough_proxy --port P --upstream http://127.0.0.1:8001`` forwards
each ``POST /v1/chat/completions`` body, unread and unparsed, to the upstream's same
path over one pooled client session and hands the answer back. No validation, no
retries, no logging: whatever the orchestrator costs beyond this is the price of its
features, which is what ``make bench`` compares.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Final

import aiohttp
from aiohttp import web

from shared.eventloop import new_event_loop

CHAT_COMPLETIONS_PATH: Final = "/v1/chat/completions"
_FORWARDED_HEADERS: Final = ("Content-Type", "X-Request-ID")


@dataclass(frozen=True, slots=True)
class ProxyConfig:
    upstream_url: str  # base URL without the path, e.g. http://127.0.0.1:8001

    def __post_init__(self) -> None:
        if not self.upstream_url.startswith(("http://", "https://")):
            raise ValueError(f"upstream_url={self.upstream_url!r} must start with http(s)://")


def provider_session() -> aiohttp.ClientSession:
    """One pooled aiohttp session, connections reused, as a plain aiohttp proxy would keep."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, limit_per_host=0, keepalive_timeout=30.0),
        timeout=aiohttp.ClientTimeout(total=None),
        skip_auto_headers=("User-Agent",),
    )


CONFIG_KEY: Final = web.AppKey("config", ProxyConfig)
SESSION_KEY: Final = web.AppKey("session", aiohttp.ClientSession)
TARGET_KEY: Final = web.AppKey("target", str)


def create_app(config: ProxyConfig) -> web.Application:
    app = web.Application()
    app[CONFIG_KEY] = config
    app[TARGET_KEY] = config.upstream_url.rstrip("/") + CHAT_COMPLETIONS_PATH
    app.cleanup_ctx.append(_client_session)
    app.router.add_post(CHAT_COMPLETIONS_PATH, forward)
    app.router.add_get("/health", health)
    return app


async def _client_session(app: web.Application) -> AsyncIterator[None]:
    # The yardstick is a plain aiohttp proxy: aiohttp's server and its pooled ClientSession.
    # The orchestrator's own provider calls go through orchestrator/transport/, which is
    # part of what the bench measures.
    session = provider_session()
    app[SESSION_KEY] = session
    yield
    await session.close()


async def forward(request: web.Request) -> web.Response:
    body = await request.read()
    headers = {
        name: request.headers[name] for name in _FORWARDED_HEADERS if name in request.headers
    }
    try:
        async with request.app[SESSION_KEY].post(
            request.app[TARGET_KEY], data=body, headers=headers
        ) as upstream:
            answer = await upstream.read()
            return web.Response(
                body=answer, status=upstream.status, content_type=upstream.content_type
            )
    except (aiohttp.ClientError, OSError) as exc:
        return web.json_response(
            {"error": {"message": f"upstream unreachable: {exc}", "type": "proxy_error"}},
            status=502,
        )


async def health(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.passthrough_proxy",
        description="Minimal aiohttp pass-through proxy (the benchmark's yardstick).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--upstream", default="http://127.0.0.1:8001", help="mock base URL")
    parser.add_argument(
        "--asyncio-loop",
        action="store_true",
        help="the pure-Python asyncio loop instead of the services' own (uvloop)",
    )
    args = parser.parse_args(argv)
    try:
        config = ProxyConfig(args.upstream)
    except ValueError as exc:
        parser.error(str(exc))
    # Same loop as the orchestrator by default: the comparison is about the work per request.
    loop = asyncio.new_event_loop() if args.asyncio_loop else new_event_loop()
    web.run_app(
        create_app(config), host=args.host, port=args.port, access_log=None, print=None, loop=loop
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
