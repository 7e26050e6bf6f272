"""The adapter contract every wire format implements, and helpers the formats share.

An adapter is stateless translation: our OpenAI-shaped :class:`ChatRequest` to the
provider's HTTP request, the provider's success body to a
:class:`~orchestrator.answers.Completion`, its error answer to an
:class:`~orchestrator.decision.Outcome`, and (through a fresh translator per stream) its
stream events to :mod:`orchestrator.answers` events. It never does I/O: the engine's
attempt sends the bytes through the transport. :mod:`.registry` finds the adapter of a
wire format.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, Protocol

import orjson

from orchestrator.answers import Malformed
from orchestrator.transport.errors import UpstreamProtocolError

if TYPE_CHECKING:
    from orchestrator.answers import Completion, StreamTranslator
    from orchestrator.decision import Outcome
    from orchestrator.requests import RoutedRequest
    from orchestrator.routing.router import Deployment
    from orchestrator.transport.base import UpstreamRequest
    from shared.models import ChatRequest


def common_headers(request: RoutedRequest, request_id: str, attempt_number: int) -> dict[str, str]:
    """What every wire format sends: JSON in, the answer's media type, and the trace ids."""
    return {
        "Content-Type": "application/json",
        "Accept": "text/event-stream" if request.stream else "application/json",
        "X-Request-ID": request_id,
        "X-Attempt-Number": str(attempt_number),
    }


class MalformedResponse(UpstreamProtocolError):
    """A 2xx body that is not the provider's success shape."""


class ProviderAdapter(Protocol):
    @property
    def wire_format(self) -> str: ...

    def build_request(
        self, request: ChatRequest, deployment: Deployment, request_id: str, attempt_number: int
    ) -> UpstreamRequest: ...

    def parse_success(self, body: bytes, request: ChatRequest) -> Completion:
        """Raise :class:`MalformedResponse` when ``body`` is not the provider's success shape."""
        ...

    def classify_error(self, status: int, headers: Mapping[str, str], body: bytes) -> Outcome:
        """A non-2xx answer as an :class:`Outcome`; any body (even non-JSON) is tolerated."""
        ...

    def stream_translator(self, request: ChatRequest) -> StreamTranslator:
        """A fresh translator for one streamed answer to ``request``."""
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


def event_json(data: bytes) -> dict[str, Any] | Malformed:
    try:
        decoded = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        return Malformed(f"event data is not JSON: {exc}")
    if not isinstance(decoded, dict):
        return Malformed("event data is not a JSON object")
    return decoded


def event_count(container: Mapping[str, Any], key: str) -> int | None:
    value = container.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


_COUNTS: Final = frozenset({"prompt_tokens", "completion_tokens", "total_tokens"})


def usage_details(raw: Mapping[str, Any]) -> dict[str, Any] | None:
    """OpenAI usage's fields beside the three counts (``*_details``, ...), passed on as sent."""
    return {k: v for k, v in raw.items() if k not in _COUNTS} if len(raw) > len(_COUNTS) else None
