"""OpenAI's embeddings endpoint, deterministic: the same input and model give the same vector.

Each vector is drawn from a generator seeded by the model and the input, then scaled to
unit length (as OpenAI's are), so similar-looking tests get stable, distinct vectors.
``dimensions`` is honoured by the ``text-embedding-3`` models and refused by older ones, as
OpenAI does. It is served by the OpenAI provider, so that provider's fault plan applies.
"""

from __future__ import annotations

import base64
import hashlib
import math
import random
import struct
from dataclasses import dataclass
from typing import Final

import orjson

from mock_provider.dialect import ChatCall, Reply, StreamFrames
from mock_provider.openai_api import OpenAIDialect
from shared.embeddings import EmbeddingInput, EmbeddingRequest, parse_embedding_request
from shared.models import FieldError

PATH: Final = "/v1/embeddings"
NATIVE_DIMENSIONS: Final = {"text-embedding-3-large": 3072}
DEFAULT_DIMENSIONS: Final = 1536  # text-embedding-3-small and ada-002
SHORTENABLE_PREFIX: Final = "text-embedding-3"


@dataclass(frozen=True, slots=True)
class EmbeddingCall(ChatCall):
    request: EmbeddingRequest | None = None


def vector(model: str, item: EmbeddingInput, dimensions: int) -> list[float]:
    text = item if isinstance(item, str) else ",".join(map(str, item))
    seed = hashlib.sha256(f"{model}\0{text}".encode()).digest()
    draw = random.Random(seed).gauss
    values = [draw(0.0, 1.0) for _ in range(dimensions)]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


def dimensions_for(request: EmbeddingRequest) -> int:
    native = NATIVE_DIMENSIONS.get(request.model, DEFAULT_DIMENSIONS)
    asked = request.dimensions
    if asked is None:
        return native
    if not request.model.startswith(SHORTENABLE_PREFIX):
        raise FieldError(
            "dimensions", "This model does not support specifying dimensions.", "invalid_value"
        )
    if asked > native:
        raise FieldError(
            "dimensions",
            f"Invalid 'dimensions': {request.model} has at most {native}.",
            "invalid_value",
        )
    return asked


class EmbeddingsDialect(OpenAIDialect):
    def parse_call(self, body: object) -> ChatCall:
        request = parse_embedding_request(body)
        dimensions_for(request)  # refused before any fault, as OpenAI checks first
        return EmbeddingCall(
            model=request.model,
            prompt="",
            prompt_tokens=request.estimated_total_tokens(),
            max_tokens=1,
            stream=False,
            request=request,
        )

    def success_body(self, reply: Reply) -> bytes:
        call = reply.call
        request = call.request if isinstance(call, EmbeddingCall) else None
        if request is None:
            raise TypeError("the embeddings dialect answers only its own calls")
        dimensions = dimensions_for(request)
        as_base64 = request.encoding_format == "base64"
        data = []
        for index, item in enumerate(request.inputs):
            values = vector(request.model, item, dimensions)
            embedding: object = values
            if as_base64:
                embedding = base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        tokens = call.prompt_tokens
        return orjson.dumps(
            {
                "object": "list",
                "data": data,
                "model": request.model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    def stream_frames(self, reply: Reply) -> StreamFrames:
        raise NotImplementedError("embeddings are never streamed")
