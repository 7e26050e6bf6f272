"""The OpenAPI 3.1 document served at ``GET /openapi.json``.

Built in code rather than shipped as a data file so it always travels with the package,
and so its enums come from the same values the engine uses (outcome kinds, decisions,
breaker states). ``tests/integration/test_openapi.py`` validates real responses against
these schemas (JSON Schema 2020-12), which keeps the document honest.
"""

from __future__ import annotations

from typing import Any, Final

from orchestrator.breaker import BreakerState
from orchestrator.decision import Action, OutcomeKind
from shared.models import OPENAI_ROLES

OPENAPI_VERSION: Final = "3.1.0"
JSON: Final = "application/json"

Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def _object(properties: dict[str, Schema], required: tuple[str, ...] = (), **extra: Any) -> Schema:
    return {"type": "object", "properties": properties, "required": list(required), **extra}


_STRING: Final[Schema] = {"type": "string"}
_INTEGER: Final[Schema] = {"type": "integer"}
_NUMBER: Final[Schema] = {"type": "number"}
_BOOLEAN: Final[Schema] = {"type": "boolean"}


def _request_schemas() -> dict[str, Schema]:
    content_part = _object({"type": _STRING, "text": _STRING}, ("type",))
    message = _object(
        {
            "role": {"enum": sorted(OPENAI_ROLES)},
            "content": {
                "anyOf": [_STRING, {"type": "array", "items": content_part}, {"type": "null"}]
            },
            "name": _STRING,
        },
        ("role",),
    )
    request = _object(
        {
            "model": {**_STRING, "minLength": 1, "description": "A public model name."},
            "messages": {"type": "array", "items": _ref("ChatMessage"), "minItems": 1},
            "temperature": _nullable({**_NUMBER, "minimum": 0, "maximum": 2}),
            "top_p": _nullable({**_NUMBER, "minimum": 0, "maximum": 1}),
            "max_tokens": _nullable({**_INTEGER, "minimum": 1}),
            "max_completion_tokens": _nullable({**_INTEGER, "minimum": 1}),
            "stream": _nullable(_BOOLEAN),
            "stream_options": _nullable(_object({"include_usage": _BOOLEAN})),
            "stop": {"anyOf": [_STRING, {"type": "array", "items": _STRING}, {"type": "null"}]},
            "preferred_provider": _nullable(
                {**_STRING, "description": "Try this provider's deployments first."}
            ),
            "fallbacks": _nullable(
                {
                    "type": "array",
                    "items": {**_STRING, "minLength": 1},
                    "description": "More public model names whose deployments extend the plan.",
                }
            ),
        },
        ("model", "messages"),
        description="OpenAI's chat request plus the orchestrator's routing fields; unknown "
        "fields are tolerated and passed to OpenAI-format providers.",
    )
    return {"ChatMessage": message, "ChatCompletionRequest": request}


def _attempt_record() -> Schema:
    return _object(
        {
            "attempt": {**_INTEGER, "minimum": 1},
            "provider": _STRING,
            "model": _STRING,
            "outcome": {"enum": [kind.value for kind in OutcomeKind]},
            "status": _nullable(_INTEGER),
            "latency_ms": _NUMBER,
            "backoff_ms": {**_NUMBER, "description": "Waited before this attempt."},
            "error": _nullable(_STRING),
            "decision": _nullable({"enum": [action.value for action in Action]}),
        },
        (
            "attempt",
            "provider",
            "model",
            "outcome",
            "status",
            "latency_ms",
            "backoff_ms",
            "error",
            "decision",
        ),
    )


def _usage() -> Schema:
    return _object(
        {"prompt_tokens": _INTEGER, "completion_tokens": _INTEGER, "total_tokens": _INTEGER},
        ("prompt_tokens", "completion_tokens", "total_tokens"),
    )


def _completion_schemas() -> dict[str, Schema]:
    choice = _object(
        {
            "index": _INTEGER,
            "message": _object(
                {"role": {"const": "assistant"}, "content": _nullable(_STRING)},
                ("role", "content"),
            ),
            "finish_reason": _nullable(_STRING),
            "logprobs": {"type": "null"},
        },
        ("index", "message", "finish_reason"),
    )
    completion = _object(
        {
            "id": _STRING,
            "object": {"const": "chat.completion"},
            "created": _INTEGER,
            "model": {**_STRING, "description": "The model of the deployment that answered."},
            "choices": {"type": "array", "items": choice, "minItems": 1},
            "usage": _ref("Usage"),
            "request_id": _STRING,
            "content": _nullable(_STRING),
            "provider": _STRING,
            "attempts": {**_INTEGER, "minimum": 1},
            "total_latency_ms": _NUMBER,
            "attempt_log": {"type": "array", "items": _ref("AttemptRecord")},
        },
        (
            "id",
            "object",
            "created",
            "model",
            "choices",
            "usage",
            "request_id",
            "content",
            "provider",
            "attempts",
            "total_latency_ms",
            "attempt_log",
        ),
    )
    chunk = _object(
        {
            "id": _STRING,
            "object": {"const": "chat.completion.chunk"},
            "created": _INTEGER,
            "model": _STRING,
            "choices": {"type": "array"},
        },
        ("object", "choices"),
        description="One `data:` line of the text/event-stream answer to `stream: true`; "
        "the stream ends with `data: [DONE]`.",
    )
    return {"ChatCompletion": completion, "ChatCompletionChunk": chunk}


def _error_body() -> Schema:
    provider_error = _object(
        {
            "provider": _STRING,
            "model": _STRING,
            "status": _nullable(_INTEGER),
            "kind": {"enum": [kind.value for kind in OutcomeKind]},
            "type": _nullable(_STRING),
            "message": _nullable(_STRING),
        },
        ("provider", "model", "status", "kind"),
    )
    error = _object(
        {
            "message": _STRING,
            "type": _STRING,
            "param": _nullable({**_STRING, "description": "The field at fault: messages[0].role"}),
            "code": _nullable(_STRING),
            "provider_error": provider_error,
        },
        ("message", "type", "param", "code"),
    )
    return _object(
        {
            "error": error,
            "request_id": _STRING,
            "attempts": _INTEGER,
            "total_latency_ms": _NUMBER,
            "attempt_log": {"type": "array", "items": _ref("AttemptRecord")},
        },
        ("error", "request_id"),
        description="OpenAI's error body plus the request id (and, after upstream attempts, "
        "the attempt log).",
    )


def _breaker_snapshot() -> Schema:
    return _object(
        {
            "state": {"enum": [state.value for state in BreakerState]},
            "consecutive_failures": _INTEGER,
            "opened_at": _nullable(_NUMBER),
            "next_probe_at": _nullable(_NUMBER),
            "forced_open": _BOOLEAN,
            "probes_in_flight": _INTEGER,
            "window_calls": _INTEGER,
            "window_failures": _INTEGER,
        },
        ("state", "consecutive_failures", "opened_at", "next_probe_at", "forced_open"),
    )


def _latency_summary(extra: dict[str, Schema] | None = None) -> Schema:
    return _object(
        {"p50": _nullable(_NUMBER), "p95": _nullable(_NUMBER), **(extra or {})}, ("p50", "p95")
    )


def _provider_schemas() -> dict[str, Schema]:
    recent = _object(
        {
            "attempts": _INTEGER,
            "success_rate": _nullable({**_NUMBER, "minimum": 0, "maximum": 1}),
            "latency_ms": _latency_summary(),
        },
        ("attempts", "success_rate", "latency_ms"),
        description="The deployment's most recent provider outcomes (client errors left out).",
    )
    status = _object(
        {
            "deployment": {**_STRING, "description": "provider/model"},
            "provider": _STRING,
            "model": _STRING,
            "wire_format": {"enum": ["openai", "anthropic"]},
            "routes": {"type": "array", "items": _STRING},
            "state": {"enum": [state.value for state in BreakerState]},
            "forced_open": _BOOLEAN,
            "consecutive_failures": _INTEGER,
            "opened_at": _nullable({**_NUMBER, "description": "Unix time, seconds."}),
            "next_probe_at": _nullable({**_NUMBER, "description": "Unix time, seconds."}),
            "next_probe_in_s": _nullable(_NUMBER),
            "recent": recent,
        },
        (
            "deployment",
            "provider",
            "model",
            "state",
            "forced_open",
            "consecutive_failures",
            "opened_at",
            "next_probe_at",
            "next_probe_in_s",
            "recent",
        ),
    )
    listing = _object(
        {"object": {"const": "list"}, "data": {"type": "array", "items": _ref("ProviderStatus")}},
        ("object", "data"),
    )
    return {"ProviderStatus": status, "ProviderList": listing}


def _journey() -> Schema:
    timed_attempt = {
        "allOf": [
            _ref("AttemptRecord"),
            _object(
                {"started_at_ms": {**_NUMBER, "description": "From the first attempt's start."}},
                ("started_at_ms",),
            ),
        ]
    }
    return _object(
        {
            "object": {"const": "request.journey"},
            "request_id": _STRING,
            "model": _nullable(_STRING),
            "preferred_provider": _nullable(_STRING),
            "fallbacks": {"type": "array", "items": _STRING},
            "received_at": {**_NUMBER, "description": "Unix time, seconds."},
            "status": {**_INTEGER, "description": "The HTTP status the caller got."},
            "outcome": {"enum": ["success", "failure", "rejected"]},
            "provider": _nullable(_STRING),
            "served_by": _nullable(_STRING),
            "attempts": _INTEGER,
            "total_latency_ms": _nullable(_NUMBER),
            "attempt_log": {"type": "array", "items": timed_attempt},
            "stream": _nullable(
                _object(
                    {
                        "end": _STRING,
                        "content_chunks": _INTEGER,
                        "malformed_events": _INTEGER,
                        "relay_ms": _NUMBER,
                    },
                    ("end", "content_chunks", "malformed_events", "relay_ms"),
                    description="How a streamed answer ended after its first token.",
                )
            ),
            "error": _nullable(
                _object(
                    {
                        "message": _STRING,
                        "code": _nullable(_STRING),
                        "param": _nullable(_STRING),
                        "type": _STRING,
                        "provider_error": _nullable({"type": "object"}),
                    },
                    ("message", "code"),
                )
            ),
        },
        (
            "object",
            "request_id",
            "model",
            "received_at",
            "status",
            "outcome",
            "attempts",
            "attempt_log",
            "error",
        ),
    )


def _model_schemas() -> dict[str, Schema]:
    model = _object(
        {
            "id": _STRING,
            "object": {"const": "model"},
            "created": _INTEGER,
            "owned_by": _STRING,
            "deployments": {"type": "array", "items": _STRING},
        },
        ("id", "object", "created", "owned_by"),
    )
    listing = _object(
        {"object": {"const": "list"}, "data": {"type": "array", "items": _ref("Model")}},
        ("object", "data"),
    )
    return {"Model": model, "ModelList": listing}


def _stats() -> Schema:
    counts = _object(
        {"successes": _INTEGER, "failures": _INTEGER, "client_errors": _INTEGER},
        ("successes", "failures", "client_errors"),
    )
    return _object(
        {
            "requests": _object(
                {
                    "total": _INTEGER,
                    "succeeded": _INTEGER,
                    "failed": _INTEGER,
                    "rejected": _INTEGER,
                },
                ("total", "succeeded", "failed", "rejected"),
            ),
            "success_rate": _nullable({**_NUMBER, "minimum": 0, "maximum": 1}),
            "latency_ms": _latency_summary({"window": _INTEGER}),
            "attempts": _INTEGER,
            "retries": _INTEGER,
            "failovers": _INTEGER,
            "providers": {"type": "object", "additionalProperties": counts},
            "uptime_s": _NUMBER,
        },
        (
            "requests",
            "success_rate",
            "latency_ms",
            "attempts",
            "retries",
            "failovers",
            "providers",
        ),
    )


def _health_schemas() -> dict[str, Schema]:
    health = _object(
        {
            "status": {"const": "ok"},
            "deployments": {"type": "object", "additionalProperties": _ref("BreakerSnapshot")},
        },
        ("status", "deployments"),
    )
    ready = _object(
        {
            "status": {"enum": ["ready", "unavailable"]},
            "deployments": _object(
                {"total": _INTEGER, "available": _INTEGER, "open": {"type": "array"}},
                ("total", "available", "open"),
            ),
        },
        ("status", "deployments"),
    )
    return {"Health": health, "Readiness": ready, "BreakerSnapshot": _breaker_snapshot()}


def components() -> dict[str, Any]:
    schemas: dict[str, Schema] = {
        **_request_schemas(),
        **_completion_schemas(),
        **_provider_schemas(),
        **_model_schemas(),
        **_health_schemas(),
        "AttemptRecord": _attempt_record(),
        "Usage": _usage(),
        "ErrorBody": _error_body(),
        "Journey": _journey(),
        "Stats": _stats(),
    }
    return {
        "schemas": schemas,
        "securitySchemes": {
            "adminBearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "The token in the variable named by admin.token_env.",
            }
        },
        "headers": {
            "X-Request-ID": {
                "description": "The request id: the caller's when sane, else generated.",
                "schema": _STRING,
            },
            "Retry-After": {"description": "Seconds until a retry may succeed.", "schema": _STRING},
        },
    }


def _json(schema_name: str, description: str, **extra: Any) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"X-Request-ID": {"$ref": "#/components/headers/X-Request-ID"}},
        "content": {JSON: {"schema": _ref(schema_name)}},
        **extra,
    }


def _error(description: str) -> dict[str, Any]:
    return _json("ErrorBody", description)


_CHAT_ERRORS: Final = {
    "400": "A field is malformed or out of range (`error.param` names it), or a provider "
    "rejected the request (content policy); never retried.",
    "404": "The model is not routable (`model_not_found`).",
    "413": "The body is larger than `server.max_body_bytes`.",
    "500": "An internal error; the request id is in the body and the logs.",
    "502": "Every attempt failed (`upstream_failed`).",
    "503": "Every breaker is open, or the last failure was a 429/529; `Retry-After` is set.",
    "504": "The request deadline passed, or the last attempt timed out.",
}


def _chat_path() -> dict[str, Any]:
    responses: dict[str, Any] = {
        "200": {
            **_json("ChatCompletion", "The answer of the deployment that succeeded."),
            "content": {
                JSON: {"schema": _ref("ChatCompletion")},
                "text/event-stream": {"schema": _ref("ChatCompletionChunk")},
            },
        },
        **{status: _error(text) for status, text in _CHAT_ERRORS.items()},
    }
    responses["503"]["headers"] = {
        **responses["503"]["headers"],
        "Retry-After": {"$ref": "#/components/headers/Retry-After"},
    }
    return {
        "post": {
            "operationId": "createChatCompletion",
            "summary": "A chat completion, made reliable (retries, failover, breakers, deadline).",
            "parameters": [
                {
                    "name": "X-Request-ID",
                    "in": "header",
                    "required": False,
                    "schema": {**_STRING, "pattern": "^[A-Za-z0-9][A-Za-z0-9._:\\-]{0,127}$"},
                }
            ],
            "requestBody": {
                "required": True,
                "content": {JSON: {"schema": _ref("ChatCompletionRequest")}},
            },
            "responses": responses,
        }
    }


def _path_parameter(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": _STRING,
        "description": description,
    }


def _admin_action(action: str, summary: str) -> dict[str, Any]:
    return {
        "post": {
            "operationId": f"{action}Deployment",
            "summary": summary,
            "security": [{"adminBearer": []}],
            "parameters": [
                _path_parameter("provider", "A configured provider name."),
                _path_parameter("model", "The provider's model name."),
            ],
            "responses": {
                "200": _json("ProviderStatus", "The deployment after the action."),
                "401": _error("The bearer token is missing or wrong."),
                "403": _error(
                    "No admin token is configured and admin.allow_unauthenticated is false."
                ),
                "404": _error("No such deployment."),
            },
        }
    }


def _get(operation_id: str, summary: str, responses: dict[str, Any], **extra: Any) -> Any:
    operation = {"operationId": operation_id, "summary": summary, "responses": responses}
    return {"get": {**operation, **extra}}


def paths() -> dict[str, Any]:
    admin = "/v1/providers/{provider}/{model}"
    return {
        "/v1/chat/completions": _chat_path(),
        "/v1/models": _get(
            "listModels",
            "The public model names (OpenAI list shape).",
            {"200": _json("ModelList", "Every routable model.")},
        ),
        "/v1/models/{model}": _get(
            "retrieveModel",
            "One public model.",
            {"200": _json("Model", "The model."), "404": _error("Not a routable model.")},
            parameters=[_path_parameter("model", "A public model name.")],
        ),
        "/v1/providers": _get(
            "listProviders",
            "Each deployment's breaker state and recent health.",
            {"200": _json("ProviderList", "Every configured deployment.")},
        ),
        f"{admin}/open": _admin_action("drain", "Force the breaker open (drain) until released."),
        f"{admin}/release": _admin_action("release", "Release a drained deployment (closed)."),
        f"{admin}/reset": _admin_action("reset", "Reset the breaker to closed, counts cleared."),
        "/v1/requests/{request_id}": _get(
            "getRequestJourney",
            "A recent request's journey: every attempt, its timing, decision and backoff.",
            {
                "200": _json("Journey", "The journey."),
                "404": _error("Unknown or evicted request id."),
            },
            parameters=[_path_parameter("request_id", "The X-Request-ID of the request.")],
        ),
        "/stats": _get(
            "getStats",
            "Totals, success rate, latency percentiles, retries, per provider.",
            {"200": _json("Stats", "The figures.")},
        ),
        "/health": _get(
            "getHealth",
            "Liveness, with every breaker's snapshot.",
            {"200": _json("Health", "The process is serving.")},
        ),
        "/health/ready": _get(
            "getReadiness",
            "Ready when the configuration is loaded and a deployment is not open.",
            {
                "200": _json("Readiness", "At least one deployment can take traffic."),
                "503": _json("Readiness", "Every deployment's breaker is open."),
            },
        ),
        "/metrics": _get(
            "getMetrics",
            "Prometheus metrics (text exposition format).",
            {
                "200": {
                    "description": "The metrics.",
                    "content": {"text/plain": {"schema": _STRING}},
                }
            },
        ),
        "/openapi.json": _get(
            "getOpenApi",
            "This document.",
            {
                "200": {
                    "description": "OpenAPI 3.1.",
                    "content": {JSON: {"schema": {"type": "object"}}},
                }
            },
        ),
    }


def openapi_document() -> dict[str, Any]:
    """The whole document (a fresh copy on every call; the app serialises it once)."""
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "LLM Reliability Orchestrator",
            "version": "0.1.0",
            "description": "OpenAI-compatible chat completions made reliable, plus the "
            "endpoints operators use to see inside: providers, journeys, stats, metrics.",
        },
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "paths": paths(),
        "components": components(),
    }
