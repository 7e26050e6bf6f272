"""The chat-completions API's streams: OpenAI ``chat.completion.chunk`` server-sent events.

The constant part of every chunk (id, created, model) is encoded once per stream; each
delta then costs one small ``orjson.dumps``. Whatever format answered upstream, the
client sees OpenAI's shape, with the deployment that answered as ``model``.
"""

from __future__ import annotations

from typing import Any, Final

import orjson

from shared.models import Usage, openai_error_body

DONE_EVENT: Final = b"data: [DONE]\n\n"


class ChunkEncoder:
    """Encodes one stream's chunks; ``include_usage`` mirrors ``stream_options.include_usage``."""

    __slots__ = ("_base", "_include_usage", "_prefix", "_role_sent", "_suffix")

    def __init__(self, chunk_id: str, created: int, model: str, include_usage: bool) -> None:
        self._base: dict[str, Any] = {
            "id": chunk_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": None,
        }
        head = orjson.dumps(self._base)[:-1]  # without the closing brace
        self._prefix = b"data: " + head + b',"choices":[{"index":0,"delta":'
        tail = b',"usage":null' if include_usage else b""
        self._suffix = b',"logprobs":null,"finish_reason":null}]' + tail + b"}\n\n"
        self._include_usage = include_usage
        self._role_sent = False

    @property
    def include_usage(self) -> bool:
        return self._include_usage

    def delta(self, text: str) -> bytes:
        if self._role_sent:
            delta = orjson.dumps({"content": text})
        else:
            # OpenAI's first chunk names the role; SDKs that rebuild the message rely on it.
            delta = orjson.dumps({"role": "assistant", "content": text})
            self._role_sent = True
        return self._prefix + delta + self._suffix

    def finish(self, reason: str, extra: dict[str, Any]) -> bytes:
        """The last content chunk; ``extra`` adds the orchestrator's own top-level fields."""
        delta: dict[str, Any] = {} if self._role_sent else {"role": "assistant", "content": ""}
        self._role_sent = True
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}
        chunk = {**self._base, "choices": [choice], **extra}
        if self._include_usage:
            chunk["usage"] = None
        return _event(chunk)

    def usage(self, usage: Usage) -> bytes:
        """OpenAI's usage chunk: no choices, the counts of the whole answer."""
        return _event({**self._base, "choices": [], "usage": usage.to_openai()})

    def ending(self, finish_reason: str, usage: Usage | None, extra: dict[str, Any]) -> bytes:
        """The finish chunk, the usage chunk when asked for and known, then ``[DONE]``."""
        parts = [self.finish(finish_reason, extra)]
        if self._include_usage and usage is not None:
            parts.append(self.usage(usage))
        parts.append(DONE_EVENT)
        return b"".join(parts)

    def error(self, message: str, code: str, request_id: str, detail: dict[str, Any]) -> bytes:
        return error_event(message, code, request_id, detail)


def error_event(message: str, code: str, request_id: str, detail: dict[str, Any]) -> bytes:
    """The in-band error that ends a broken stream; the OpenAI SDK raises ``APIError`` on it."""
    body = openai_error_body(message, "server_error", None, code)
    body["error"].update(detail)
    body["request_id"] = request_id
    return _event(body)


def _event(payload: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"
