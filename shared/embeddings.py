"""An OpenAI embeddings request (``POST /v1/embeddings``), parsed for both services.

``input`` is a string, an array of strings, an array of token ids or an array of such
arrays (OpenAI's four forms); ``encoding_format`` is ``float`` (the default) or ``base64``
(what the ``openai`` SDK asks for unless told otherwise); ``dimensions`` shortens the
vectors of models that support it. The orchestrator's routing fields (``fallbacks``,
``preferred_provider``) work as they do for chat; unknown fields are kept and passed on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from shared.chat_parsing import parse_routing_fields, require_object
from shared.field_checks import invalid_type, invalid_value, missing
from shared.models import FieldError, estimate_tokens

MAX_INPUTS: Final = 2048
"""OpenAI's limit on the entries of one request's ``input`` array."""
ENCODING_FORMATS: Final = ("float", "base64")
_KNOWN: Final = frozenset(
    {"model", "input", "encoding_format", "dimensions", "user", "preferred_provider", "fallbacks"}
)

EmbeddingInput = str | tuple[int, ...]


@dataclass(frozen=True, slots=True)
class EmbeddingRequest:
    model: str
    inputs: tuple[EmbeddingInput, ...]
    single: bool  # ``input`` was one string or one token array, not a list of them
    encoding_format: str | None = None  # None: as the caller left it (float)
    dimensions: int | None = None
    user: str | None = None
    preferred_provider: str | None = None
    fallbacks: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    # What the engine asks of every request it runs; an embedding is one plain answer.
    stream: bool = field(default=False, init=False)
    n: int = field(default=1, init=False)

    def estimated_prompt_tokens(self) -> int:
        """The longest input's tokens: an embedding model's context window holds each input
        on its own (OpenAI's limit is per input), so this is what must fit it."""
        return max(_tokens(item) for item in self.inputs)

    def estimated_total_tokens(self) -> int:
        return sum(_tokens(item) for item in self.inputs)

    def input_json(self) -> object:
        """``input`` as the caller sent it."""
        items = [item if isinstance(item, str) else list(item) for item in self.inputs]
        return items[0] if self.single else items


def parse_embedding_request(body: object) -> EmbeddingRequest:
    """Raise :class:`FieldError` naming the first bad field, in OpenAI's words."""
    obj = require_object(body)
    model = obj.get("model")
    if model is None:
        raise missing("model")
    if not isinstance(model, str) or not model:
        raise invalid_type("model", model, "a non-empty string")
    if "input" not in obj:
        raise missing("input")
    inputs, single = _inputs(obj["input"])
    encoding = obj.get("encoding_format")
    if encoding is not None and encoding not in ENCODING_FORMATS:
        raise invalid_value("encoding_format", encoding, ENCODING_FORMATS)
    dimensions = obj.get("dimensions")
    if dimensions is not None and (
        isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1
    ):
        raise FieldError(
            "dimensions", "Invalid 'dimensions': expected a positive integer.", "invalid_value"
        )
    user = obj.get("user")
    if user is not None and not isinstance(user, str):
        raise invalid_type("user", user, "a string")
    preferred, fallbacks = parse_routing_fields(obj)
    return EmbeddingRequest(
        model=model,
        inputs=inputs,
        single=single,
        encoding_format=encoding,
        dimensions=dimensions,
        user=user,
        preferred_provider=preferred,
        fallbacks=fallbacks,
        extra={k: v for k, v in obj.items() if k not in _KNOWN},
    )


def _inputs(raw: object) -> tuple[tuple[EmbeddingInput, ...], bool]:
    if isinstance(raw, str):
        return (_text(raw, "input"),), True
    if not isinstance(raw, list) or not raw:
        raise FieldError(
            "input",
            "Invalid 'input': expected a string, an array of strings, an array of tokens or "
            "an array of token arrays, and not empty.",
            "invalid_type" if not isinstance(raw, list) else "invalid_value",
        )
    if len(raw) > MAX_INPUTS:
        raise FieldError(
            "input",
            f"Invalid 'input': at most {MAX_INPUTS} inputs a request, got {len(raw)}.",
            "invalid_value",
        )
    if all(_is_token(item) for item in raw):
        return (tuple(raw),), True
    items: list[EmbeddingInput] = []
    for index, item in enumerate(raw):
        param = f"input[{index}]"
        if isinstance(item, str):
            items.append(_text(item, param))
        elif isinstance(item, list) and item and all(_is_token(t) for t in item):
            items.append(tuple(item))
        else:
            raise invalid_type(param, item, "a non-empty string or an array of token ids")
    return tuple(items), False


def _tokens(item: EmbeddingInput) -> int:
    return estimate_tokens(item) if isinstance(item, str) else len(item)


def _text(value: str, param: str) -> str:
    if not value:
        raise FieldError(param, f"Invalid '{param}': empty string.", "invalid_value")
    return value


def _is_token(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
