"""The control API: fault plans, reset, the attempt log and health.

Bad input answers 400 ``{"error": {"message", "param"}}`` naming the field, and leaves the
plan in force untouched: a body is parsed whole before anything is installed.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from aiohttp import web

from mock_provider.faults import PROVIDERS
from mock_provider.logs import CONTROL_LOGGER
from mock_provider.plan_schema import ControlError, parse_plan_update
from mock_provider.state import STATE_KEY, MockState

_control_log = logging.getLogger(CONTROL_LOGGER)


def _json(payload: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(payload), content_type="application/json")


def _bad_input(error: ControlError) -> web.Response:
    return _json(error.to_json(), status=400)


def _config_view(state: MockState) -> dict[str, Any]:
    return {
        **state.faults.snapshot(state.clock.monotonic()),
        "token_interval_seconds": state.config.token_interval_s,
        "keys_required": {p: state.api_key(p) is not None for p in PROVIDERS},
    }


async def _read_json(request: web.Request) -> object:
    raw = await request.read()
    if not raw.strip():
        return {}  # `curl -X POST` with no body means "no settings": healthy
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ControlError(None, f"The body is not valid JSON: {exc}") from None


async def set_failures(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    try:
        update = parse_plan_update(await _read_json(request))
    except ControlError as error:
        return _bad_input(error)
    state.faults.install(update.plan, update.providers, update.seed, state.clock.monotonic())
    _control_log.info(
        "fault plan installed",
        extra={"providers": list(update.providers), "plan": update.plan.to_json()},
    )
    return _json({"status": "ok", **_config_view(state)})


async def get_config(request: web.Request) -> web.Response:
    return _json(_config_view(request.app[STATE_KEY]))


async def reset(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    state.faults.reset(state.clock.monotonic())
    state.log.clear()
    _control_log.info("reset")
    return _json({"status": "ok", **_config_view(state)})


def _log_filter(request: web.Request) -> tuple[str | None, str | None]:
    provider = request.query.get("provider")
    if provider is not None and provider not in PROVIDERS:
        raise ControlError(
            "provider", f"Unknown provider '{provider}'; choose one of {', '.join(PROVIDERS)}."
        )
    return provider, request.query.get("request_id")


async def get_log(request: web.Request) -> web.Response:
    try:
        provider, request_id = _log_filter(request)
    except ControlError as error:
        return _bad_input(error)
    entries = request.app[STATE_KEY].log.entries(provider=provider, request_id=request_id)
    return _json({"entries": [entry.to_json() for entry in entries]})


async def clear_log(request: web.Request) -> web.Response:
    request.app[STATE_KEY].log.clear()
    return _json({"status": "ok"})


async def health(request: web.Request) -> web.Response:
    return _json({"status": "ok"})


def add_control_routes(app: web.Application) -> None:
    app.router.add_post("/config/failures", set_failures)
    app.router.add_get("/config", get_config)
    app.router.add_post("/config/reset", reset)
    app.router.add_get("/log", get_log)
    app.router.add_delete("/log", clear_log)
    app.router.add_get("/health", health)
