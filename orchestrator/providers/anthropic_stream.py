"""Anthropic Messages stream events -> :mod:`orchestrator.answers` events.

Text deltas become :class:`TextDelta`; a ``tool_use`` block's start becomes an OpenAI
tool-call delta with its id and name, and its ``input_json_delta`` fragments the call's
argument fragments (tool index = the tool block's position among tool blocks); thinking
deltas become ``reasoning_content`` deltas. The forced tool of JSON mode streams its input
as the answer's text, as :mod:`.anthropic_answers` does for a whole answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from orchestrator.answers import (
    DONE,
    ChoiceDelta,
    Finish,
    Malformed,
    StreamEvent,
    TextDelta,
    UsageReport,
)
from orchestrator.providers.anthropic_answers import CACHE_FIELDS, finish_reason
from orchestrator.providers.base import event_count, event_json
from orchestrator.providers.errors import stream_error
from orchestrator.streaming.sse import ServerSentEvent
from shared.models import Usage

_JSON_BLOCK = -1
"""The tool index recorded for the forced JSON tool's block: its input is text."""


class AnthropicStreamTranslator:
    """Messages-API events: message_start ... content_block_delta ... message_delta, stop."""

    __slots__ = (
        "_input_tokens",
        "_json_tool",
        "_read_tokens",
        "_tool_blocks",
        "meta",
        "upstream_id",
        "upstream_model",
    )

    def __init__(self, json_tool: str | None = None) -> None:
        self.upstream_id: str | None = None
        self.upstream_model: str | None = None
        self.meta: dict[str, Any] = {}
        self._json_tool = json_tool
        self._input_tokens = 0
        self._read_tokens: int | None = None
        self._tool_blocks: dict[int, int] = {}  # content block index -> OpenAI tool index

    @property
    def usage_follows_finish(self) -> bool:
        return False  # message_delta carries the stop reason and the output count together

    def translate(self, event: ServerSentEvent, out: list[StreamEvent]) -> None:
        data = event_json(event.data)
        if isinstance(data, Malformed):
            out.append(data)
            return
        # The data's own "type" is authoritative; the event line only repeats it.
        kind = data.get("type", event.event)
        match kind:
            case "content_block_delta":
                self._delta(data, out)
            case "content_block_start":
                self._block_start(data, out)
            case "message_start":
                self._start(data.get("message"), out)
            case "message_delta":
                self._finish(data, out)
            case "message_stop":
                out.append(DONE)
            case "error":
                out.append(stream_error(data.get("error")))
            # ping, content_block_stop and event types added later carry nothing we relay.

    def _start(self, message: object, out: list[StreamEvent]) -> None:
        if not isinstance(message, dict):
            out.append(Malformed("message_start has no 'message' object"))
            return
        if isinstance(message.get("id"), str):
            self.upstream_id = message["id"]
        if isinstance(message.get("model"), str):
            self.upstream_model = message["model"]
        usage = message.get("usage")
        if isinstance(usage, dict):
            self._input_tokens = sum(
                event_count(usage, key) or 0 for key in ("input_tokens", *CACHE_FIELDS)
            )
            self._read_tokens = event_count(usage, "cache_read_input_tokens")

    def _block_start(self, data: Mapping[str, Any], out: list[StreamEvent]) -> None:
        block = data.get("content_block")
        index = data.get("index")
        if not isinstance(block, dict) or not isinstance(index, int):
            out.append(Malformed("content_block_start has no 'content_block' and 'index'"))
            return
        match block.get("type"):
            case "text":
                text = block.get("text")
                if isinstance(text, str) and text:
                    out.append(TextDelta(text))
            case "tool_use" if self._json_tool is not None and block.get("name") == self._json_tool:
                self._tool_blocks[index] = _JSON_BLOCK
            case "tool_use":
                call_id, name = block.get("id"), block.get("name")
                if not isinstance(call_id, str) or not isinstance(name, str):
                    out.append(Malformed("a tool_use block has no string 'id' and 'name'"))
                    return
                tool_index = sum(1 for i in self._tool_blocks.values() if i != _JSON_BLOCK)
                self._tool_blocks[index] = tool_index
                call = {
                    "index": tool_index,
                    "id": call_id,
                    "type": "function",
                    "function": {"name": name, "arguments": ""},
                }
                out.append(ChoiceDelta(0, {"tool_calls": [call]}))

    def _delta(self, data: Mapping[str, Any], out: list[StreamEvent]) -> None:
        delta = data.get("delta")
        if not isinstance(delta, dict):
            out.append(Malformed("content_block_delta has no 'delta' object"))
            return
        match delta.get("type"):
            case "text_delta":
                _text(delta, "text", out, TextDelta)
            case "input_json_delta":
                self._arguments(data.get("index"), delta, out)
            case "thinking_delta":
                _text(delta, "thinking", out, _reasoning)
            # signature deltas and delta types added later carry nothing a chat chunk holds.

    def _arguments(self, index: object, delta: Mapping[str, Any], out: list[StreamEvent]) -> None:
        fragment = delta.get("partial_json")
        tool_index = self._tool_blocks.get(index) if isinstance(index, int) else None
        if not isinstance(fragment, str) or tool_index is None:
            out.append(Malformed("input_json_delta outside a tool_use block"))
        elif not fragment:
            return
        elif tool_index == _JSON_BLOCK:
            out.append(TextDelta(fragment))
        else:
            call = {"index": tool_index, "function": {"arguments": fragment}}
            out.append(ChoiceDelta(0, {"tool_calls": [call]}))

    def _finish(self, data: Mapping[str, Any], out: list[StreamEvent]) -> None:
        usage = data.get("usage")
        output_tokens = event_count(usage, "output_tokens") if isinstance(usage, dict) else None
        if output_tokens is not None:
            details = None
            if self._read_tokens is not None:
                details = {"prompt_tokens_details": {"cached_tokens": self._read_tokens}}
            out.append(UsageReport(Usage(self._input_tokens, output_tokens, details)))
        delta = data.get("delta")
        reason = delta.get("stop_reason") if isinstance(delta, dict) else None
        if isinstance(reason, str):
            out.append(Finish(finish_reason(reason, self._json_tool)))


def _reasoning(text: str) -> ChoiceDelta:
    return ChoiceDelta(0, {"reasoning_content": text})


def _text(
    delta: Mapping[str, Any],
    key: str,
    out: list[StreamEvent],
    event: Callable[[str], TextDelta | ChoiceDelta],
) -> None:
    text = delta.get(key)
    if not isinstance(text, str):
        out.append(Malformed(f"{delta.get('type')} has no '{key}' string"))
    elif text:
        out.append(event(text))
