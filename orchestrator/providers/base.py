"""The adapter contract every wire format implements.

CONTRACT (the engine and upstream code against it; implementations and tests to come):

    @dataclass(frozen=True, slots=True)
    class UpstreamRequest:
        url: str                    # full URL: provider.base_url + the format's path
        headers: Mapping[str, str]  # auth, content-type, anthropic-version, X-Request-ID,
                                    # X-Attempt-Number (1-based attempt number of the request)
        body: bytes                 # orjson-encoded

    @dataclass(frozen=True, slots=True)
    class Completion:               # a successful, parsed answer
        content: str
        finish_reason: str          # OpenAI vocabulary: stop, length, content_filter, tool_calls
        usage: Usage                # shared.models.Usage
        upstream_id: str | None

    class ProviderAdapter(Protocol):
        wire_format: str
        def build_request(self, request: ChatRequest, deployment: Deployment,
                          request_id: str, attempt_number: int) -> UpstreamRequest
        def parse_success(self, body: bytes) -> Completion
            # raises MalformedResponse when the body is not the provider's success shape
        def classify_error(self, status: int, headers: Mapping[str, str], body: bytes) -> Outcome
            # a non-2xx answer -> policy.Outcome with kind, status, retry_after_s (from
            # Retry-After seconds or HTTP-date, or retry-after-ms), message and error_type
            # taken from the provider's error body (tolerating a body that is not JSON)

    class MalformedResponse(Exception): ...

    def adapter_for(wire_format: str) -> ProviderAdapter   # one shared instance per format
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from shared.models import Usage


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    url: str
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class Completion:
    """A successful, parsed answer in the OpenAI vocabulary."""

    content: str
    finish_reason: str
    usage: Usage
    upstream_id: str | None = None


class MalformedResponse(Exception):
    """A 2xx body that is not the provider's success shape."""
