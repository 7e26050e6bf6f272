"""Wire types shared by the orchestrator and the mock provider.

The request types are parsed by :mod:`shared.chat_parsing`, which fails with a
:class:`FieldError` naming the exact field at fault (``messages[1].role``), so both
services can answer a bad request with the OpenAI error body and the right ``param``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from shared.values import value

CHARS_PER_TOKEN: Final = 4
"""The rough rule both services use to estimate tokens from text (OpenAI's own rule of thumb)."""

OPENAI_ROLES: Final = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
TEMPERATURE_RANGE: Final = (0.0, 2.0)
TOP_P_RANGE: Final = (0.0, 1.0)


MAX_ECHOED_CHARS: Final = 200
"""How much of a caller's value an error message (and so a journey or a log) repeats."""


def shown(value: object, limit: int = MAX_ECHOED_CHARS) -> str:
    """``value`` as text for an error message, cut to ``limit`` characters."""
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def estimate_tokens(text: str) -> int:
    """Tokens in ``text`` by the 4-characters-a-token rule; never 0 for non-empty text."""
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN  # rounding up: 0 only for ""


class FieldError(ValueError):
    """A request field is missing, of the wrong type or out of range.

    ``param`` is the JSON path of the field (``messages[0].content``), ``code`` the
    OpenAI error code (``missing_required_parameter``, ``invalid_type``, ``invalid_value``).
    """

    def __init__(self, param: str | None, message: str, code: str = "invalid_value") -> None:
        super().__init__(message)
        self.param = param
        self.message = message
        self.code = code


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: str
    content: str | list[dict[str, Any]] | None
    name: str | None = None
    # tool_calls, tool_call_id and the like travel untouched to OpenAI-format upstreams.
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The message's text, with content parts joined (non-text parts are ignored)."""
        return content_text(self.content)


@dataclass(frozen=True, slots=True)
class StreamOptions:
    include_usage: bool = False


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """An OpenAI chat-completions request plus the orchestrator's routing fields."""

    model: str
    messages: tuple[ChatMessage, ...]
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    stop: tuple[str, ...] = ()
    preferred_provider: str | None = None
    fallbacks: tuple[str, ...] = ()
    # Agents and structured output (shared.tool_parsing): kept as the caller sent them.
    n: int = 1
    tools: tuple[Mapping[str, Any], ...] = ()
    tool_choice: str | Mapping[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    response_format: Mapping[str, Any] | None = None
    logprobs: bool = False
    # Unknown fields are tolerated and kept, so OpenAI-format upstreams still see them.
    extra: Mapping[str, Any] = field(default_factory=dict)
    # Validation and routing both ask for the estimate of every request, so it is worked out
    # once: by the parser, or on the first call. Not an init field, so replace() drops it.
    _prompt_tokens: int | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def prompt_text(self) -> str:
        return "\n".join(m.text for m in self.messages)

    def estimated_prompt_tokens(self) -> int:
        tokens = self._prompt_tokens
        if tokens is None:
            tokens = sum(estimate_tokens(m.text) for m in self.messages)
            object.__setattr__(self, "_prompt_tokens", tokens)  # a cache, not a change
        return tokens


def content_text(content: str | list[dict[str, Any]] | None) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(
        part["text"] for part in content if part.get("type") == "text" and "text" in part
    )


def openai_error_body(
    message: str,
    error_type: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    """OpenAI's error body: ``{"error": {"message", "type", "param", "code"}}``."""
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def anthropic_error_body(message: str, error_type: str = "invalid_request_error") -> dict[str, Any]:
    """Anthropic's error body: ``{"type": "error", "error": {"type", "message"}}``."""
    return {"type": "error", "error": {"type": error_type, "message": message}}


@value
class Usage:
    prompt_tokens: int
    completion_tokens: int
    # The rest of the provider's usage in OpenAI's words (prompt_tokens_details,
    # completion_tokens_details, ...), passed on as it came; the counts are the value.
    details: Mapping[str, Any] | None = field(default=None, compare=False)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_openai(self) -> dict[str, Any]:
        counts: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }
        if self.details:
            counts.update(self.details)
        return counts


@value
class AttemptRecord:
    """One upstream attempt as the response body and the journey show it."""

    attempt: int
    provider: str
    model: str
    outcome: str
    status: int | None
    latency_ms: float
    backoff_ms: float
    error: str | None = None
    decision: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "attempt": self.attempt,
            "provider": self.provider,
            "model": self.model,
            "outcome": self.outcome,
            "status": self.status,
            "latency_ms": round(self.latency_ms, 3),
            "backoff_ms": round(self.backoff_ms, 3),
            "error": self.error,
            "decision": self.decision,
        }


def attempts_json(records: Sequence[AttemptRecord]) -> list[dict[str, Any]]:
    return [r.to_json() for r in records]
