"""The chat-completions API's answers: a ``chat.completion`` body, or an OpenAI error body,
each with the orchestrator's own fields beside the provider's."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from orchestrator.answers import Completion
from orchestrator.engine import Failure, Success
from orchestrator.http.body import BodyError
from orchestrator.http.responses import error_response, json_response
from shared.models import attempts_json, openai_error_body


def completion_response(result: Success, completion: Completion, request_id: str) -> web.Response:
    """The provider's ``chat.completion`` whole, our fields beside its own (never in their
    place), and ``content``: the first choice's text."""
    if completion.body is not None:
        body = dict(completion.body)
        if body.get("model") is None:
            body["model"] = result.deployment.model
        ours = orchestrator_fields(result, request_id)
        ours["content"] = completion.content
        if body.keys().isdisjoint(ours):
            body.update(ours)  # as every provider's body has it
        else:
            body.update({k: v for k, v in ours.items() if k not in body})
        return json_response(body)
    return json_response(
        {
            "id": completion.upstream_id or f"chatcmpl-{request_id}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": result.deployment.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": completion.content},
                    "finish_reason": completion.finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": completion.usage.to_openai(),
            **orchestrator_fields(result, request_id),
            "content": completion.content,
        }
    )


def orchestrator_fields(result: Success, request_id: str) -> dict[str, Any]:
    fields = {
        "request_id": request_id,
        "provider": result.deployment.provider.name,
        "attempts": len(result.attempts),
        "total_latency_ms": round(result.total_latency_s * 1000.0, 3),
        "attempt_log": attempts_json(result.skipped + result.attempts),
    }
    if result.route is not None:  # a strategy's order, beside the attempts it led to
        fields["route"] = result.route.to_json()
    return fields


def failure_response(result: Failure, request_id: str) -> web.Response:
    body = openai_error_body(result.message, result.error_type, result.param, result.code)
    if result.provider_error is not None:
        body["error"]["provider_error"] = result.provider_error
    body["attempts"] = len(result.attempts)
    body["total_latency_ms"] = round(result.total_latency_s * 1000.0, 3)
    body["attempt_log"] = attempts_json(result.skipped + result.attempts)
    if result.route is not None:
        body["route"] = result.route.to_json()
    return error_response(result.status, body, request_id, retry_after_headers(result))


def retry_after_headers(result: Failure) -> dict[str, str] | None:
    """``Retry-After`` in whole seconds (rounded up) when the failure knows when to retry."""
    if result.retry_after_s is None:
        return None
    return {"Retry-After": str(max(1, round(result.retry_after_s + 0.499)))}


def body_error(error: BodyError, request_id: str) -> web.Response:
    """A body we could not take, in OpenAI's error shape."""
    body = openai_error_body(error.message, "invalid_request_error", None, error.code)
    response = error_response(error.status, body, request_id)
    if not error.reusable:
        response.force_close()
    return response
