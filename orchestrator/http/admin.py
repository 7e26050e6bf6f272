"""The operator's endpoints: providers and breaker actions, journeys, models, stats,
readiness, metrics and the OpenAPI document.

Read-only endpoints are open, like ``/metrics``: they show breaker states, timings and
provider error messages, never a prompt or a key. Journeys (``/v1/requests/{id}``) need the
admin token when one is configured. The breaker actions change routing, so
they need ``Authorization: Bearer <token>`` when a token is configured (401 otherwise); with
no token configured they are refused with 403 unless ``admin.allow_unauthenticated``.

Breaker times are kept on the monotonic clock; they are shown as Unix times, converted
with the wall clock at the moment of the answer.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from orchestrator.breaker import BreakerRegistry, CircuitBreaker
from orchestrator.breaker.circuit import REFUSING
from orchestrator.config import AdminConfig, AppConfig
from orchestrator.http.anthropic_render import anthropic_error_body
from orchestrator.http.openapi import openapi_document
from orchestrator.http.responses import JSON_CONTENT_TYPE, error_response, json_response
from orchestrator.routing.router import Deployment, Router
from orchestrator.telemetry.fanout import Telemetry
from orchestrator.telemetry.logs import REQUEST_ID
from shared.models import openai_error_body, shown

MODEL_OWNER: Final = "llm-orchestrator"
ANTHROPIC_VERSION_HEADER: Final = "anthropic-version"


@dataclass(frozen=True, slots=True)
class AdminContext:
    """What the admin endpoints read; the app builds it once in ``create_app``."""

    config: AppConfig
    breakers: BreakerRegistry
    router: Router
    telemetry: Telemetry
    clock: Callable[[], float]  # the breakers' (monotonic) clock
    wall_clock: Callable[[], float]


def add_admin_routes(app: web.Application, context: AdminContext) -> None:
    api = _AdminApi(context)
    app.router.add_get("/v1/models", api.models)
    app.router.add_get("/v1/models/{model:.+}", api.model)
    app.router.add_get("/v1/providers", api.providers)
    # A model name may hold slashes; the action is the last segment.
    app.router.add_post("/v1/providers/{provider}/{model:.+}/{action:open|release|reset}", api.act)
    app.router.add_get("/v1/requests/{request_id}", api.journey)
    app.router.add_get("/stats", api.stats)
    app.router.add_get("/health/ready", api.ready)
    app.router.add_get("/metrics", api.metrics)
    app.router.add_get("/openapi.json", api.openapi)


def api_error(
    status: int,
    message: str,
    *,
    code: str,
    error_type: str = "invalid_request_error",
    param: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    body = openai_error_body(message, error_type, param, code)
    return error_response(status, body, REQUEST_ID.get(), headers)


def authorize(admin: AdminConfig, authorization: str | None) -> web.Response | None:
    """None when the caller may act; else the 401/403 answer that says why not."""
    if admin.token is None:
        if admin.allow_unauthenticated:
            return None
        return api_error(
            403,
            "Admin actions are disabled: no admin token is configured. Set the variable "
            f"{admin.token_env or '(admin.token_env)'} and send it as a bearer token, or "
            "set admin.allow_unauthenticated = true for local use.",
            code="admin_disabled",
            error_type="permission_error",
        )
    scheme, _, given = (authorization or "").partition(" ")
    # compare_digest: the time taken must not tell how much of a guess was right.
    if scheme.lower() != "bearer" or not secrets.compare_digest(
        given.strip().encode(), admin.token.encode()
    ):
        return api_error(
            401,
            "Admin actions need the header 'Authorization: Bearer <admin token>'; it is "
            "missing or wrong.",
            code="invalid_admin_token",
            error_type="authentication_error",
            headers={"WWW-Authenticate": 'Bearer realm="orchestrator-admin"'},
        )
    return None


class _AdminApi:
    def __init__(self, context: AdminContext) -> None:
        self._context = context
        self._started_at = int(context.wall_clock())
        started = datetime.fromtimestamp(self._started_at, UTC)
        self._started_iso = started.strftime("%Y-%m-%dT%H:%M:%SZ")
        self._deployments, self._routes_of = _deployments(context.config, context.router)
        self._openapi = orjson.dumps(openapi_document())

    # --- models ------------------------------------------------------------------------------

    # One body serves both SDKs: OpenAI's model fields and Anthropic's (type, display_name,
    # created_at), and the list has Anthropic's paging fields (one page holds every model).

    def _model_json(self, model: str) -> dict[str, Any]:
        route = self._context.router.route(model) or ()
        return {
            "id": model,
            "object": "model",
            "created": self._started_at,
            "owned_by": MODEL_OWNER,
            "type": "model",
            "display_name": model,
            "created_at": self._started_iso,
            "deployments": [d.key for d in route],
        }

    async def models(self, request: web.Request) -> web.Response:
        names = list(self._context.config.routes)
        data = [self._model_json(model) for model in names]
        return json_response(
            {
                "object": "list",
                "data": data,
                "has_more": False,
                "first_id": names[0] if names else None,
                "last_id": names[-1] if names else None,
            }
        )

    async def model(self, request: web.Request) -> web.Response:
        model = request.match_info["model"]
        if model not in self._context.config.routes:
            message = (
                f"The model '{shown(model)}' does not exist or is not routed by this orchestrator."
            )
            if ANTHROPIC_VERSION_HEADER in request.headers:  # the anthropic SDK's call
                body = anthropic_error_body(404, message, code="model_not_found", param="model")
                return error_response(404, body, REQUEST_ID.get())
            return api_error(404, message, code="model_not_found", param="model")
        return json_response(self._model_json(model))

    # --- providers and breaker actions ---------------------------------------------------------

    def _provider_json(self, deployment: Deployment) -> dict[str, Any]:
        breaker = self._context.breakers.get(deployment.key)
        snapshot = breaker.snapshot()
        mono_now, wall_now = self._context.clock(), self._context.wall_clock()
        probe_at = breaker.next_probe_at()
        return {
            "deployment": deployment.key,
            "provider": deployment.provider.name,
            "model": deployment.model,
            "wire_format": deployment.provider.wire_format,
            "routes": self._routes_of[deployment.key],
            "state": snapshot["state"],
            "forced_open": snapshot["forced_open"],
            "consecutive_failures": breaker.consecutive_failures,
            "opened_at": _as_wall(breaker.opened_at, mono_now, wall_now),
            "next_probe_at": _as_wall(probe_at, mono_now, wall_now),
            "next_probe_in_s": None
            if probe_at is None
            else round(max(0.0, probe_at - mono_now), 3),
            "recent": self._context.telemetry.stats.recent(deployment.key).summary(),
        }

    async def providers(self, request: web.Request) -> web.Response:
        data = [self._provider_json(d) for d in self._deployments.values()]
        return json_response({"object": "list", "data": data})

    async def act(self, request: web.Request) -> web.Response:
        refused = authorize(self._context.config.admin, request.headers.get("Authorization"))
        if refused is not None:
            return refused
        key = f"{request.match_info['provider']}/{request.match_info['model']}"
        deployment = self._deployments.get(key)
        if deployment is None:
            known = ", ".join(self._deployments)
            return api_error(
                404,
                f"No deployment '{shown(key)}' is configured (configured: {known}).",
                code="deployment_not_found",
            )
        _apply(self._context.breakers.get(key), request.match_info["action"])
        return json_response(self._provider_json(deployment))

    # --- journeys, stats, readiness, metrics, the document ---------------------------------

    async def journey(self, request: web.Request) -> web.Response:
        # A journey shows what a caller asked and what providers said: with a token set,
        # only its holder reads them (without one, a local set-up, they stay open).
        admin = self._context.config.admin
        if admin.token is not None:
            refused = authorize(admin, request.headers.get("Authorization"))
            if refused is not None:
                return refused
        request_id = request.match_info["request_id"]
        journey = self._context.telemetry.journeys.get(request_id)
        if journey is None:
            return api_error(
                404,
                f"No recent request has the id '{shown(request_id)}': it is unknown, or older than "
                f"the last {self._context.config.observability.journeys_max} requests kept.",
                code="request_not_found",
                param="request_id",
            )
        return json_response(journey.to_json())

    async def stats(self, request: web.Request) -> web.Response:
        body = self._context.telemetry.stats.to_json()
        body["uptime_s"] = round(self._context.wall_clock() - self._started_at, 3)
        return json_response(body)

    async def ready(self, request: web.Request) -> web.Response:
        breakers = self._context.breakers
        open_now = [key for key in self._deployments if breakers.get(key).state in REFUSING]
        available = len(self._deployments) - len(open_now)
        body = {
            "status": "ready" if available else "unavailable",
            "deployments": {
                "total": len(self._deployments),
                "available": available,
                "open": open_now,
            },
        }
        return json_response(body, 200 if available else 503)

    async def metrics(self, request: web.Request) -> web.Response:
        return web.Response(
            body=self._context.telemetry.metrics.exposition(),
            headers={"Content-Type": CONTENT_TYPE_LATEST},
        )

    async def openapi(self, request: web.Request) -> web.Response:
        return web.Response(body=self._openapi, content_type=JSON_CONTENT_TYPE)


def _apply(breaker: CircuitBreaker, action: str) -> None:
    if action == "open":
        breaker.force_open()
    else:  # release and reset both return it to closed, counts cleared
        breaker.reset()


def _deployments(
    config: AppConfig, router: Router
) -> tuple[dict[str, Deployment], dict[str, list[str]]]:
    """Every configured deployment once, in configuration order, and the routes listing it."""
    deployments: dict[str, Deployment] = {}
    routes_of: dict[str, list[str]] = {}
    for model in config.routes:
        for deployment in router.route(model) or ():
            deployments.setdefault(deployment.key, deployment)
            routes_of.setdefault(deployment.key, []).append(model)
    return deployments, routes_of


def _as_wall(monotonic_at: float | None, mono_now: float, wall_now: float) -> float | None:
    if monotonic_at is None:
        return None
    return round(wall_now + (monotonic_at - mono_now), 3)
