"""Anthropic's tool use for the mock: checking tools and tool blocks as Anthropic does, and
the ``tool_use`` blocks and ``input_json_delta`` events of an answer that calls tools.

The checks are the ones a translation bug would trip on Anthropic: a ``tool_result`` must
answer a ``tool_use`` of the turn right before it (same id), tool ids and names follow
Anthropic's patterns, and tool blocks need declared tools.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from mock_provider.tools import ToolCall, ToolSpec, ToolUse
from shared.models import FieldError

TOOL_ID: Final = re.compile(r"[a-zA-Z0-9_-]+")
TOOL_NAME: Final = re.compile(r"[a-zA-Z0-9_-]{1,64}")
CHOICE_TYPES: Final = ("auto", "any", "tool", "none")


def _error(param: str, message: str) -> FieldError:
    return FieldError(param, f"{param}: {message}", "invalid_value")


def parse_tool_use(body: Mapping[str, Any], messages: list[Any]) -> ToolUse:
    tools = _tools(body.get("tools"))
    mode, forced, parallel = _choice(body.get("tool_choice"), tools)
    _check_tool_blocks(messages, bool(tools))
    last = messages[-1] if messages else {}
    return ToolUse(
        tools=tools,
        mode=mode,
        forced=forced,
        parallel=parallel,
        after_tool_result=_has_block(last, "tool_result"),
        last_user_text=_user_text(messages),
    )


def _tools(raw: object) -> tuple[ToolSpec, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _error("tools", "Input should be a valid list")
    specs = []
    for index, tool in enumerate(raw):
        if not isinstance(tool, dict):
            raise _error(f"tools.{index}", "Input should be a valid dictionary")
        name = tool.get("name")
        if not isinstance(name, str) or not TOOL_NAME.fullmatch(name):
            raise _error(
                f"tools.{index}.name", "String should match pattern '^[a-zA-Z0-9_-]{1,64}$'"
            )
        schema = tool.get("input_schema")
        if not isinstance(schema, dict) or schema.get("type") != "object":
            raise _error(f"tools.{index}.input_schema", "Input should be an object schema")
        specs.append(ToolSpec(name, schema))
    return tuple(specs)


def _choice(raw: object, tools: tuple[ToolSpec, ...]) -> tuple[str, str | None, bool]:
    if raw is None:
        return "auto", None, True
    if not isinstance(raw, dict) or raw.get("type") not in CHOICE_TYPES:
        raise _error("tool_choice", "Input tag should be 'auto', 'any', 'tool' or 'none'")
    kind = raw["type"]
    forced = raw.get("name") if kind == "tool" else None
    if kind == "tool" and forced not in {t.name for t in tools}:
        raise _error("tool_choice.name", f"Tool '{forced}' not found in tools")
    return kind, forced, not raw.get("disable_parallel_tool_use", False)


def _blocks(message: object) -> list[Any]:
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, list) else []


def _has_block(message: object, kind: str) -> bool:
    return any(isinstance(b, dict) and b.get("type") == kind for b in _blocks(message))


def _user_text(messages: list[Any]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            return " ".join(
                b["text"] for b in _blocks(message) if b.get("type") == "text" and "text" in b
            )
    return ""


def _check_tool_blocks(messages: list[Any], tools_declared: bool) -> None:
    previous_uses: set[str] = set()
    for index, message in enumerate(messages):
        uses: set[str] = set()
        for block_index, block in enumerate(_blocks(message)):
            param = f"messages.{index}.content.{block_index}"
            kind = block.get("type") if isinstance(block, dict) else None
            if kind in ("tool_use", "tool_result") and not tools_declared:
                raise _error(
                    param,
                    "Requests which include `tool_use` or `tool_result` blocks must define tools.",
                )
            if kind == "tool_use":
                block_id = block.get("id")
                if not isinstance(block_id, str) or not TOOL_ID.fullmatch(block_id):
                    raise _error(f"{param}.id", "String should match pattern '^[a-zA-Z0-9_-]+$'")
                if not isinstance(block.get("input"), dict):
                    raise _error(f"{param}.input", "Input should be a valid dictionary")
                uses.add(block_id)
            elif kind == "tool_result" and block.get("tool_use_id") not in previous_uses:
                raise _error(
                    param,
                    f"unexpected `tool_use_id` found in `tool_result` blocks: "
                    f"{block.get('tool_use_id')}. Each `tool_result` block must have a "
                    "corresponding `tool_use` block in the previous message.",
                )
        previous_uses = uses


def tool_blocks(calls: tuple[ToolCall, ...]) -> list[dict[str, Any]]:
    return [{"type": "tool_use", "id": c.call_id, "name": c.name, "input": c.input} for c in calls]


Event = Callable[[str, Mapping[str, Any]], bytes]


def tool_events(
    calls: tuple[ToolCall, ...], first_index: int, event: Event
) -> tuple[list[bytes], int]:
    """Each call's block: its start, its input in ``input_json_delta`` fragments, its stop.
    Returns the events and the position halfway into the first call's input."""
    out: list[bytes] = []
    middle = 0
    for offset, call in enumerate(calls):
        index = first_index + offset
        block = {"type": "tool_use", "id": call.call_id, "name": call.name, "input": {}}
        out.append(
            event(
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": block},
            )
        )
        fragments = call.fragments
        if offset == 0:
            middle = len(out) + len(fragments) // 2
        out.extend(
            event(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "input_json_delta", "partial_json": fragment},
                },
            )
            for fragment in fragments
        )
        out.append(event("content_block_stop", {"type": "content_block_stop", "index": index}))
    return out, middle
