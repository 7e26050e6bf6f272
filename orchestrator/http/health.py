"""``GET /health``: liveness, with every deployment's breaker as it reads now."""

from __future__ import annotations

from aiohttp import web

from orchestrator.http.keys import BREAKERS_KEY, CONFIG_KEY, ROUTER_KEY
from orchestrator.http.responses import json_response


async def health(request: web.Request) -> web.Response:
    breakers = request.app[BREAKERS_KEY]
    router = request.app[ROUTER_KEY]
    deployments = {
        d.key: breakers.get(d.key).snapshot()
        for model in request.app[CONFIG_KEY].routes
        for d in router.route(model) or ()
    }
    return json_response({"status": "ok", "deployments": deployments})
