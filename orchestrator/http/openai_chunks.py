"""The chat-completions API's streams: OpenAI ``chat.completion.chunk`` server-sent events.

The constant part of every chunk (id, created, model, and the provider's own chunk fields
such as ``system_fingerprint``) is encoded once per stream; each text delta then costs one
small ``orjson.dumps``. Whatever format answered upstream, the client sees OpenAI's shape,
with the model the provider named (else the deployment's) as ``model``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import orjson

from orchestrator.answers import ChoiceDelta, Finish
from shared.models import Usage, openai_error_body

DONE_EVENT: Final = b"data: [DONE]\n\n"


class ChunkEncoder:
    """Encodes one stream's chunks; ``include_usage`` mirrors ``stream_options.include_usage``."""

    __slots__ = ("_base", "_include_usage", "_prefix", "_role_sent", "_roles_sent", "_suffix")

    def __init__(
        self,
        chunk_id: str,
        created: int,
        model: str,
        include_usage: bool,
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        self._base: dict[str, Any] = {
            "id": chunk_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": None,
        }
        if meta:
            self._base.update(meta)
        head = orjson.dumps(self._base)[:-1]  # without the closing brace
        self._prefix = b"data: " + head + b',"choices":[{"index":0,"delta":'
        tail = b',"usage":null' if include_usage else b""
        self._suffix = b',"logprobs":null,"finish_reason":null}]' + tail + b"}\n\n"
        self._include_usage = include_usage
        self._role_sent = False  # for choice 0, the one nearly every stream has
        self._roles_sent: set[int] = set()  # for the others

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

    def choice_delta(self, event: ChoiceDelta) -> bytes:
        delta = dict(event.delta)
        if self._first_of(event.index):
            delta = {"role": "assistant", **delta}
        choice = {
            "index": event.index,
            "delta": delta,
            "logprobs": event.logprobs,
            "finish_reason": None,
        }
        return self._chunk(choice, None)

    def choice_finish(self, event: Finish) -> bytes:
        return self.finish(event.reason, None, event.index)

    def _first_of(self, index: int) -> bool:
        """Whether this is the choice's first delta (which names the role, as OpenAI's do)."""
        if index == 0:
            first = not self._role_sent
            self._role_sent = True
            return first
        if index in self._roles_sent:
            return False
        self._roles_sent.add(index)
        return True

    def finish(self, reason: str, extra: dict[str, Any] | None, index: int = 0) -> bytes:
        """A choice's finish chunk; ``extra`` adds the orchestrator's own top-level fields,
        beside the provider's (never in their place)."""
        first = self._first_of(index)
        delta: dict[str, Any] = {"role": "assistant", "content": ""} if first else {}
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": reason}
        return self._chunk(choice, extra)

    def _chunk(self, choice: dict[str, Any], extra: dict[str, Any] | None) -> bytes:
        chunk = {**self._base, "choices": [choice]}
        if extra:
            for key, value in extra.items():
                chunk.setdefault(key, value)
        if self._include_usage:
            chunk["usage"] = None
        return _event(chunk)

    def usage(self, usage: Usage) -> bytes:
        """OpenAI's usage chunk: no choices, the counts of the whole answer."""
        return _event({**self._base, "choices": [], "usage": usage.to_openai()})

    def ending(
        self, finish_reason: str, usage: Usage | None, extra: dict[str, Any], index: int = 0
    ) -> bytes:
        """The finish chunk, the usage chunk when asked for and known, then ``[DONE]``."""
        parts = [self.finish(finish_reason, extra, index)]
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
