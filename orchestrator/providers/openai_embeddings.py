"""OpenAI's embeddings wire format, the one embeddings API the orchestrator speaks upstream.

The caller's request goes up as sent (unknown fields too), retargeted at the deployment's
model; the orchestrator's routing fields stay here. The answer's ``list`` body is kept whole
(vectors as floats or base64, as asked), with its usage summarised for journeys and metrics.
Errors are classified by the OpenAI adapter, as chat's are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import orjson

from orchestrator.answers import Completion
from orchestrator.providers.base import (
    MalformedResponse,
    common_headers,
    load_json_object,
    token_count,
)
from orchestrator.transport.base import UpstreamRequest
from shared.embeddings import EmbeddingRequest
from shared.models import Usage

if TYPE_CHECKING:
    from orchestrator.routing.router import Deployment

EMBEDDINGS_PATH: Final = "/v1/embeddings"
EMBEDDING_WIRE_FORMATS: Final = frozenset({"openai"})
"""The wire formats with an embeddings API (Anthropic has none)."""


def embeddings_request(
    request: EmbeddingRequest, deployment: Deployment, request_id: str, attempt_number: int
) -> UpstreamRequest:
    headers = common_headers(request, request_id, attempt_number)
    api_key = deployment.provider.api_key
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return UpstreamRequest(
        url=deployment.provider.base_url.rstrip("/") + EMBEDDINGS_PATH,
        headers=headers,
        body=orjson.dumps(embeddings_body(request, deployment)),
    )


def embeddings_body(request: EmbeddingRequest, deployment: Deployment) -> dict[str, Any]:
    body: dict[str, Any] = dict(request.extra)
    body["model"] = deployment.model
    body["input"] = request.input_json()
    if request.encoding_format is not None:
        body["encoding_format"] = request.encoding_format
    if request.dimensions is not None:
        body["dimensions"] = request.dimensions
    if request.user is not None:
        body["user"] = request.user
    return body


def parse_embeddings(body: bytes, request: EmbeddingRequest) -> Completion:
    """The provider's ``list`` body whole; one vector per input, or it is malformed."""
    data = load_json_object(body)
    if data.get("object") != "list":
        raise MalformedResponse(f"expected object 'list', got {data.get('object')!r}")
    vectors = data.get("data")
    if not isinstance(vectors, list) or len(vectors) != len(request.inputs):
        raise MalformedResponse(f"'data' does not hold {len(request.inputs)} embeddings")
    for index, item in enumerate(vectors):
        if not isinstance(item, dict) or not isinstance(item.get("embedding"), list | str):
            raise MalformedResponse(f"'data[{index}].embedding' is not a vector")
    usage = data.get("usage")
    prompt_tokens = token_count(usage, "prompt_tokens", "usage") if isinstance(usage, dict) else 0
    return Completion(
        content="",
        finish_reason="stop",
        usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=0),
        body=data,
    )
