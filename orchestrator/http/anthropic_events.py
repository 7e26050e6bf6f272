"""The Messages API's streams: Anthropic's server-sent events, from the relay's events.

``message_start`` (and a ``ping``) go out with the first content, then each block as
``content_block_start`` / ``content_block_delta`` / ``content_block_stop``: text as
``text_delta``, reasoning as ``thinking_delta``, a tool call as a ``tool_use`` block whose
argument fragments are ``input_json_delta``. The ending is ``message_delta`` (the stop
reason, the usage of the whole answer, and our own fields beside Anthropic's) and
``message_stop``; a broken stream ends with an ``error`` event instead, as Anthropic's do,
so the SDK raises rather than take half an answer for a whole one.

``message_start`` holds the prompt's *estimated* tokens: the upstream's count is known only
at the end (OpenAI sends it last), and ``message_delta`` carries it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import orjson

from orchestrator.answers import ChoiceDelta, Finish
from orchestrator.http.anthropic_render import STOP_REASONS, usage_json
from shared.models import Usage

_TEXT: Final = -1  # the open block's kind, for text
_THINKING: Final = -2  # ... for reasoning; a tool call's is its OpenAI index (>= 0)
_PING: Final = b'event: ping\ndata: {"type":"ping"}\n\n'
_OVERLOADED: Final = frozenset({"all_breakers_open", "no_deployment_available"})


def event(kind: str, payload: Mapping[str, Any]) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


class AnthropicEventEncoder:
    """One stream's events; only the first choice exists in this API."""

    __slots__ = ("_blocks", "_index", "_message", "_open", "_started", "_text_prefix")

    def __init__(self, message_id: str, model: str, estimated_input_tokens: int) -> None:
        self._message: dict[str, Any] = {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": estimated_input_tokens, "output_tokens": 0},
        }
        self._started = False
        self._open: int | None = None  # the kind of the block now open
        self._index = -1  # the open (or last) block's index
        self._blocks: dict[int, int] = {}  # a tool call's OpenAI index -> its block index
        self._text_prefix = b""

    def delta(self, text: str) -> bytes:
        head = self._enter(_TEXT)
        if not self._text_prefix:
            self._text_prefix = (
                b'event: content_block_delta\ndata: {"type":"content_block_delta","index":'
                + str(self._index).encode()
                + b',"delta":{"type":"text_delta","text":'
            )
        return head + self._text_prefix + orjson.dumps(text) + b"}}\n\n"

    def choice_delta(self, delta: ChoiceDelta) -> bytes:
        if delta.index != 0:
            return b""  # this API has one choice; a request asking for more is refused
        parts: list[bytes] = []
        fields = delta.delta
        text = fields.get("content") or fields.get("refusal")
        if isinstance(text, str) and text:
            parts.append(self.delta(text))
        reasoning = fields.get("reasoning_content")
        if isinstance(reasoning, str) and reasoning:
            parts.append(self._enter(_THINKING))
            parts.append(self._delta({"type": "thinking_delta", "thinking": reasoning}))
        for call in fields.get("tool_calls") or ():
            if isinstance(call, dict):
                parts.append(self._tool_call(call))
        return b"".join(parts)

    def choice_finish(self, finish: Finish) -> bytes:
        return b""  # only other choices finish early, and this API has none

    def ending(
        self, finish_reason: str, usage: Usage | None, extra: dict[str, Any], index: int = 0
    ) -> bytes:
        head = self._start() + self._close()
        delta = {
            "type": "message_delta",
            "delta": {"stop_reason": STOP_REASONS.get(finish_reason, "end_turn"),
                      "stop_sequence": None},
            "usage": usage_json(usage),
        }  # fmt: skip
        for key, value in extra.items():
            delta.setdefault(key, value)
        return (
            head + event("message_delta", delta) + event("message_stop", {"type": "message_stop"})
        )

    def error(self, message: str, code: str, request_id: str, detail: dict[str, Any]) -> bytes:
        kind = "overloaded_error" if code in _OVERLOADED else "api_error"
        error = {"type": kind, "message": message, "code": code, **detail}
        return event("error", {"type": "error", "error": error, "request_id": request_id})

    def _tool_call(self, call: Mapping[str, Any]) -> bytes:
        position = call.get("index", 0)
        function = call.get("function") or {}
        head = b""
        if position not in self._blocks:
            head = self._enter(None)
            self._index += 1
            self._open = position
            self._blocks[position] = self._index
            name = function.get("name")
            block: dict[str, Any] = {"type": "tool_use", "id": call.get("id"), "name": name}
            block["input"] = {}
            head += event(
                "content_block_start",
                {"type": "content_block_start", "index": self._index, "content_block": block},
            )
        fragment = function.get("arguments")
        if not isinstance(fragment, str) or not fragment:
            return head
        payload = {"type": "input_json_delta", "partial_json": fragment}
        return head + self._delta(payload, self._blocks[position])

    def _enter(self, kind: int | None) -> bytes:
        """Open a block of ``kind`` unless one is open (None: close what is open)."""
        if kind is not None and self._open == kind:
            return b""
        head = self._start() + self._close()
        if kind is None:
            return head
        self._index += 1
        self._open = kind
        if kind == _TEXT:
            self._text_prefix = b""
            block: dict[str, Any] = {"type": "text", "text": ""}
        else:
            block = {"type": "thinking", "thinking": "", "signature": ""}
        return head + event(
            "content_block_start",
            {"type": "content_block_start", "index": self._index, "content_block": block},
        )

    def _close(self) -> bytes:
        if self._open is None:
            return b""
        self._open = None
        return event("content_block_stop", {"type": "content_block_stop", "index": self._index})

    def _delta(self, payload: Mapping[str, Any], index: int | None = None) -> bytes:
        at = self._index if index is None else index
        return event(
            "content_block_delta", {"type": "content_block_delta", "index": at, "delta": payload}
        )

    def _start(self) -> bytes:
        if self._started:
            return b""
        self._started = True
        return event("message_start", {"type": "message_start", "message": self._message}) + _PING
