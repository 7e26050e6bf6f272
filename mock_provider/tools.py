"""When the mock calls a tool, with which arguments, and its JSON answers: all deterministic.

The rule (documented in the README) is the same for both wire formats:

- a forced choice (OpenAI ``tool_choice`` ``required`` or a named function, Anthropic
  ``any`` or ``tool``) always calls: the named tool, or the first declared one;
- ``auto`` (the default) calls every declared tool whose name the last user message
  mentions, in declaration order (only the first when parallel calls are off), unless the
  conversation's last turn is a tool result: then it answers in text, as a model does once
  it has what it asked for;
- ``none``, or no tools, never calls.

Arguments are a valid instance of the tool's JSON schema (every required property, typed
as the schema says), the same for the same conversation; a JSON-mode answer is an object
holding the deterministic text, a JSON-schema answer an instance of the schema.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson

ARGUMENT_FRAGMENT_CHARS: Final = 8
"""How much of a call's JSON arguments each stream event carries, as real streams split them."""
MAX_SCHEMA_DEPTH: Final = 8
"""Deeper schemas get an empty object there: an instance, if not an interesting one."""


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    schema: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ToolUse:
    """What the request says about tools, reduced to what the rule reads."""

    tools: tuple[ToolSpec, ...] = ()
    mode: str = "auto"  # auto, none, any (OpenAI "required"), tool (a named one)
    forced: str | None = None
    parallel: bool = True
    after_tool_result: bool = False
    last_user_text: str = ""


@dataclass(frozen=True, slots=True)
class ToolCall:
    call_id: str
    name: str
    arguments: str  # JSON text

    @property
    def input(self) -> Any:
        return orjson.loads(self.arguments)

    @property
    def fragments(self) -> list[str]:
        """The arguments as a stream sends them, piece by piece."""
        size = ARGUMENT_FRAGMENT_CHARS
        return [self.arguments[i : i + size] for i in range(0, len(self.arguments), size)]


def calls_for(use: ToolUse, prompt: str, id_prefix: str) -> tuple[ToolCall, ...]:
    """The tool calls the answer makes; () for a text answer."""
    if not use.tools or use.mode == "none":
        return ()
    if use.mode == "tool":
        chosen = [t for t in use.tools if t.name == use.forced][:1]
    elif use.mode == "any":
        mentioned = _mentioned(use)
        chosen = mentioned or [use.tools[0]]
    elif use.after_tool_result:
        return ()
    else:
        chosen = _mentioned(use)
    if not use.parallel:
        chosen = chosen[:1]
    return tuple(
        ToolCall(_call_id(id_prefix, prompt, index), tool.name, _json(instance(tool.schema)))
        for index, tool in enumerate(chosen)
    )


def _mentioned(use: ToolUse) -> list[ToolSpec]:
    text = use.last_user_text.lower()
    return [tool for tool in use.tools if tool.name.lower() in text]


def _call_id(prefix: str, prompt: str, index: int) -> str:
    digest = hashlib.sha256(f"{index}:{prompt}".encode("utf-8", "surrogatepass")).hexdigest()
    return prefix + digest[:24]


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def json_answer(text: str, schema: Mapping[str, Any] | None) -> str:
    """JSON mode's answer (``{"answer": text}``), or an instance of ``schema``."""
    if schema is None:
        return _json({"answer": text})
    return _json(instance(schema, text))


def instance(schema: Mapping[str, Any], text: str = "sample", depth: int = 0) -> Any:
    """A value valid for ``schema`` (the common JSON-schema keywords)."""
    if depth > MAX_SCHEMA_DEPTH:
        return {}
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    for combinator in ("anyOf", "oneOf", "allOf"):
        options = schema.get(combinator)
        if isinstance(options, list) and options and isinstance(options[0], dict):
            return instance(options[0], text, depth + 1)
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    return _typed(kind, schema, text, depth)


def _typed(kind: object, schema: Mapping[str, Any], text: str, depth: int) -> Any:
    match kind:
        case "string":
            return text[: schema.get("maxLength", len(text))] or "x"
        case "integer":
            return max(1, int(schema.get("minimum", 1)))
        case "number":
            return max(1.0, float(schema.get("minimum", 1.0)))
        case "boolean":
            return True
        case "null":
            return None
        case "array":
            items = schema.get("items")
            count = max(1, int(schema.get("minItems", 1)))
            if not isinstance(items, dict):
                return ["x"] * count
            return [instance(items, text, depth + 1) for _ in range(count)]
    properties = schema.get("properties")
    if properties is None and "required" not in schema and schema.get("additionalProperties", True):
        return {"answer": text}  # any object will do (JSON mode's schema): say something
    properties = properties if isinstance(properties, dict) else {}
    required = schema.get("required")
    names = list(properties)
    if isinstance(required, list):
        names += [n for n in required if isinstance(n, str) and n not in properties]
    return {
        name: instance(properties.get(name, {"type": "string"}), text, depth + 1) for name in names
    }
