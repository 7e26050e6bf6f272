"""The adapter contract every wire format implements, and the lookup of the shared adapters.

An adapter is stateless translation: our OpenAI-shaped :class:`ChatRequest` to the
provider's HTTP request, the provider's success body to a :class:`Completion`, and its
error answer to a :class:`policy.Outcome`. It never does I/O; ``upstream.py`` sends the
bytes. Streaming translation (a later issue) adds its own method here; ``build_request``
already forwards ``stream`` so that work only has to parse the event stream.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, Protocol

import orjson

from shared.models import Usage
from shared.values import value

if TYPE_CHECKING:
    from orchestrator.policy import Outcome
    from orchestrator.router import Deployment
    from shared.models import ChatRequest

WIRE_FORMATS: Final = frozenset({"openai", "anthropic"})


@value
class UpstreamRequest:
    url: str  # provider.base_url + the format's path
    headers: Mapping[str, str]  # auth, content type, X-Request-ID, X-Attempt-Number (1-based)
    body: bytes  # orjson-encoded


@value
class Completion:
    """A successful, parsed answer in the OpenAI vocabulary."""

    content: str
    finish_reason: str  # stop, length, content_filter, tool_calls
    usage: Usage
    upstream_id: str | None = None


def common_headers(request: ChatRequest, request_id: str, attempt_number: int) -> dict[str, str]:
    """What every wire format sends: JSON in, the answer's media type, and the trace ids."""
    return {
        "Content-Type": "application/json",
        "Accept": "text/event-stream" if request.stream else "application/json",
        "X-Request-ID": request_id,
        "X-Attempt-Number": str(attempt_number),
    }


class MalformedResponse(Exception):
    """A 2xx body that is not the provider's success shape."""


class ProviderAdapter(Protocol):
    @property
    def wire_format(self) -> str: ...

    def build_request(
        self, request: ChatRequest, deployment: Deployment, request_id: str, attempt_number: int
    ) -> UpstreamRequest: ...

    def parse_success(self, body: bytes) -> Completion:
        """Raise :class:`MalformedResponse` when ``body`` is not the provider's success shape."""
        ...

    def classify_error(self, status: int, headers: Mapping[str, str], body: bytes) -> Outcome:
        """A non-2xx answer as an :class:`Outcome`; any body (even non-JSON) is tolerated."""
        ...


def load_json_object(body: bytes) -> dict[str, Any]:
    """``body`` as a JSON object, or :class:`MalformedResponse` saying why it is not one."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedResponse(f"body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise MalformedResponse("body is not a JSON object")
    return data


def token_count(container: Mapping[str, Any], key: str, where: str) -> int:
    """A non-negative integer token count, or :class:`MalformedResponse` naming the field."""
    value = container.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MalformedResponse(f"'{where}.{key}' is not a non-negative integer: {value!r}")
    return value


def adapter_for(wire_format: str) -> ProviderAdapter:
    """The shared, stateless adapter for ``wire_format``; ValueError for an unknown one."""
    # Imported here because the adapters import this module's types.
    match wire_format:
        case "openai":
            from orchestrator.providers.openai import OPENAI_ADAPTER

            return OPENAI_ADAPTER
        case "anthropic":
            from orchestrator.providers.anthropic import ANTHROPIC_ADAPTER

            return ANTHROPIC_ADAPTER
    supported = "', '".join(sorted(WIRE_FORMATS))
    raise ValueError(f"unknown wire format {wire_format!r}; supported: '{supported}'")
