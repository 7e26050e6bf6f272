"""What a deployment can honour, and what a request needs: the plan never downgrades silently.

Each deployment declares its capabilities: its wire format's defaults
(:data:`WIRE_FORMAT_DEFAULTS`), overridden by its provider's ``capabilities`` table and then
by its own. A request that needs one (``n`` > 1, tools, a JSON schema, an image, ...) goes
only to deployments that have it; the router skips the others and says why, and when none
on the route can, validation answers 400 naming the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

from orchestrator.requests import RoutedRequest
from shared.embeddings import EmbeddingRequest


class Capability(StrEnum):
    TOOLS = "tools"
    CUSTOM_TOOLS = "custom_tools"  # OpenAI's free-form (non-JSON) tools
    MULTIPLE_CHOICES = "n"  # n > 1
    JSON_MODE = "json_mode"  # response_format json_object
    JSON_SCHEMA = "json_schema"  # response_format json_schema
    STRUCTURED_OUTPUT_WITH_TOOLS = "structured_output_with_tools"  # JSON and tools at once
    IMAGES = "images"
    LOGPROBS = "logprobs"
    PREFILL = "prefill"  # continues a conversation that ends in an assistant message
    EMBEDDINGS = "embeddings"  # serves POST /v1/embeddings (Anthropic's API has none)


_ALL: Final = frozenset(Capability)
WIRE_FORMAT_DEFAULTS: Final[Mapping[str, frozenset[Capability]]] = MappingProxyType(
    {
        # OpenAI answers a trailing assistant message with a new message: no prefill.
        "openai": _ALL - {Capability.PREFILL},
        # Anthropic has no n, no logprobs, no free-form tools; JSON mode and schemas are
        # honoured through a forced tool (providers/anthropic_tools.py), which is why they
        # cannot be combined with the caller's own tools.
        "anthropic": frozenset(
            {
                Capability.TOOLS,
                Capability.JSON_MODE,
                Capability.JSON_SCHEMA,
                Capability.IMAGES,
                Capability.PREFILL,
            }
        ),
    }
)


@dataclass(frozen=True, slots=True)
class Need:
    capability: Capability
    param: str  # the request field that asks for it
    why: str  # what the request asks, for the skip reason and the 400


_EMBEDDINGS: Final = (Need(Capability.EMBEDDINGS, "model", "an embeddings request"),)


def needs(request: RoutedRequest) -> tuple[Need, ...]:
    """What ``request`` needs of a deployment; () for a plain text request."""
    if isinstance(request, EmbeddingRequest):
        return _EMBEDDINGS
    found: list[Need] = []
    if request.n > 1:
        found.append(Need(Capability.MULTIPLE_CHOICES, "n", f"n={request.n}"))
    if request.tools:
        found.append(Need(Capability.TOOLS, "tools", "tools"))
        if any(tool.get("type") == "custom" for tool in request.tools):
            found.append(Need(Capability.CUSTOM_TOOLS, "tools", "custom tools"))
    kind = request.response_format.get("type") if request.response_format else None
    if kind == "json_object":
        found.append(Need(Capability.JSON_MODE, "response_format", "JSON mode"))
    elif kind == "json_schema":
        found.append(Need(Capability.JSON_SCHEMA, "response_format", "a JSON schema"))
    if kind in ("json_object", "json_schema") and request.tools:
        found.append(
            Need(Capability.STRUCTURED_OUTPUT_WITH_TOOLS, "response_format", "JSON with tools")
        )
    if request.logprobs:
        found.append(Need(Capability.LOGPROBS, "logprobs", "logprobs"))
    for index, message in enumerate(request.messages):
        content = message.content
        if content.__class__ is list:  # text, as nearly every message is, has no parts
            image_at = _first_image(content)
            if image_at is not None:
                param = f"messages[{index}].content[{image_at}]"
                found.append(Need(Capability.IMAGES, param, "an image"))
                break
    return tuple(found)


def _first_image(parts: list[dict[str, Any]]) -> int | None:
    for index, part in enumerate(parts):
        if part.get("type") == "image_url":
            return index
    return None


def missing(capabilities: frozenset[Capability], wanted: tuple[Need, ...]) -> Need | None:
    """The first of ``wanted`` that ``capabilities`` lacks, or None."""
    for need in wanted:
        if need.capability not in capabilities:
            return need
    return None


def resolve(wire_format: str, *overrides: Iterable[tuple[str, bool]]) -> frozenset[Capability]:
    """The wire format's defaults with each override table (``("n", False), ...``) applied."""
    result = set(WIRE_FORMAT_DEFAULTS[wire_format])
    for table in overrides:
        for name, enabled in table:
            (result.add if enabled else result.discard)(Capability(name))
    return frozenset(result)
