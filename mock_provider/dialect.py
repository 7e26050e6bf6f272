"""What the two wire formats have in common, and the interface each one implements.

The request flow (:mod:`mock_provider.serving`) is written once against :class:`Dialect`;
``openai_api`` and ``anthropic_api`` only know how their provider spells requests, answers,
errors and stream events.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from mock_provider.answers import Answer
from mock_provider.tools import ToolCall, ToolUse

SSE_CONTENT_TYPE: Final = "text/event-stream; charset=utf-8"
JSON_CONTENT_TYPE: Final = "application/json"


@dataclass(frozen=True, slots=True)
class ChatCall:
    """A valid chat request, reduced to what the mock needs to answer it."""

    model: str
    prompt: str
    prompt_tokens: int
    max_tokens: int | None
    stream: bool
    include_usage: bool = False
    tool_use: ToolUse = field(default_factory=ToolUse)
    choices: int = 1  # OpenAI's n
    json_mode: bool = False
    json_schema: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """Everything needed to render one successful answer."""

    call: ChatCall
    answer: Answer
    message_id: str
    created: int
    tool_calls: tuple[ToolCall, ...] = ()  # the first choice's, when it calls tools
    more_answers: tuple[Answer, ...] = ()  # choices 1..n-1

    @property
    def finish_reason(self) -> str:
        """In OpenAI's words; the Anthropic dialect maps it to a stop reason."""
        if self.tool_calls:
            return "tool_calls"
        return "length" if self.answer.truncated else "stop"


@dataclass(frozen=True, slots=True)
class StreamFrames:
    """A successful stream as encoded SSE frames, before any fault reshapes it."""

    head: tuple[bytes, ...]
    tokens: tuple[bytes, ...]
    tail: tuple[bytes, ...]
    terminator: bytes
    malformed: bytes
    # The token index halfway into the first tool call's arguments, when the answer calls
    # tools: where the stream_cut_tool_arguments fault cuts.
    tool_arguments_at: int | None = None


@dataclass(frozen=True, slots=True)
class RateLimit:
    """What a 429 tells the client about the limit it hit."""

    limit: int
    remaining: int
    reset_s: float
    retry_after_s: int | None = None
    retry_after_ms: int | None = None


@dataclass(frozen=True, slots=True)
class ProviderError:
    """An error answer, in words both formats can render in their own shape."""

    status: int
    message: str
    error_type: str
    param: str | None = None
    code: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


class Dialect(Protocol):
    @property
    def provider(self) -> str:
        """``openai`` or ``anthropic``: whose fault plan and key apply."""
        ...

    def response_headers(self, request_headers: Mapping[str, str]) -> dict[str, str]:
        """Headers every answer carries (the request id header)."""
        ...

    def authenticate(
        self, request_headers: Mapping[str, str], key: str | None
    ) -> ProviderError | None:
        """A 401 when a key is required and the request's is missing or wrong."""
        ...

    def parse_call(self, body: object) -> ChatCall:
        """The request as a :class:`ChatCall`; raise ``shared.models.FieldError`` if invalid."""
        ...

    def bad_request(self, param: str | None, message: str, code: str) -> ProviderError:
        """The 400 for an invalid request body."""
        ...

    def fault_error(self, kind: str, call: ChatCall, rate_limit: RateLimit) -> ProviderError:
        """The error answer for one of ``faults.ERROR_KINDS``."""
        ...

    def error_body(self, error: ProviderError) -> bytes: ...

    def new_message_id(self) -> str: ...

    @property
    def tool_id_prefix(self) -> str:
        """How the provider's tool-call ids begin (``call_``, ``toolu_``)."""
        ...

    def success_body(self, reply: Reply) -> bytes: ...

    def stream_frames(self, reply: Reply) -> StreamFrames: ...


def random_id(prefix: str, nbytes: int = 12) -> str:
    return prefix + secrets.token_hex(nbytes)


def masked_key(key: str) -> str:
    """A key as error messages show it: enough to recognise, not enough to use."""
    return key[:3] + "*" * max(0, len(key) - 7) + key[-4:] if len(key) > 7 else "***"
