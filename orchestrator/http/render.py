"""The chat-completions API's answers: a ``chat.completion`` body, or an OpenAI error body,
each with the orchestrator's own fields beside the provider's."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from orchestrator.answers import Completion
from orchestrator.engine import Failure, Success
from orchestrator.http.responses import error_response, json_response
from shared.models import attempts_json, openai_error_body


def completion_response(result: Success, completion: Completion, request_id: str) -> web.Response:
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
    return {
        "request_id": request_id,
        "provider": result.deployment.provider.name,
        "attempts": len(result.attempts),
        "total_latency_ms": round(result.total_latency_s * 1000.0, 3),
        "attempt_log": attempts_json(result.attempts),
    }


def failure_response(result: Failure, request_id: str) -> web.Response:
    body = openai_error_body(result.message, result.error_type, result.param, result.code)
    if result.provider_error is not None:
        body["error"]["provider_error"] = result.provider_error
    body["attempts"] = len(result.attempts)
    body["total_latency_ms"] = round(result.total_latency_s * 1000.0, 3)
    body["attempt_log"] = attempts_json(result.attempts)
    headers = None
    if result.retry_after_s is not None:
        headers = {"Retry-After": str(max(1, round(result.retry_after_s + 0.499)))}
    return error_response(result.status, body, request_id, headers)


def too_large(limit: int, request_id: str) -> web.Response:
    body = openai_error_body(
        f"The request body is larger than the limit of {limit} bytes.",
        "invalid_request_error",
        None,
        "request_too_large",
    )
    return error_response(413, body, request_id)


def body_timeout(limit_s: float, request_id: str) -> web.Response:
    body = openai_error_body(
        f"The request body did not arrive within {limit_s:g} s.",
        "invalid_request_error",
        None,
        "request_timeout",
    )
    response = error_response(408, body, request_id)
    response.force_close()  # the rest of that body may still be on its way: not reusable
    return response


def bad_encoding(reason: str, request_id: str) -> web.Response:
    body = openai_error_body(
        f"The request body could not be decoded as its Content-Encoding says: {reason[:200]}",
        "invalid_request_error",
        None,
        "invalid_content_encoding",
    )
    response = error_response(400, body, request_id)
    response.force_close()  # what is left of that body cannot be read: not reusable
    return response
