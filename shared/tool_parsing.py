"""The agent and structured-output fields of a chat request, checked as OpenAI checks them.

``tools``, ``tool_choice``, ``parallel_tool_calls``, ``n``, ``response_format`` and
``logprobs`` at the top level; ``tool_calls`` on assistant messages and ``tool_call_id`` on
tool messages. Each check raises a :class:`~shared.models.FieldError` naming the field
(``tools[1].function.name``). The values themselves are kept as sent, so an OpenAI-format
upstream gets them unchanged, fields we do not know included.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from shared.field_checks import invalid_type, invalid_value, missing, required_string
from shared.models import FieldError, shown

TOOL_NAME_PATTERN: Final = re.compile(r"[a-zA-Z0-9_-]{1,64}")
"""OpenAI's rule for a function name, which Anthropic's rule for a tool name also allows."""
TOOL_TYPES: Final = ("function", "custom")
TOOL_CHOICE_MODES: Final = ("none", "auto", "required")
RESPONSE_FORMAT_TYPES: Final = ("text", "json_object", "json_schema")
MAX_CHOICES: Final = 128
MAX_TOP_LOGPROBS: Final = 20


def parse_tools(body: Mapping[str, Any]) -> tuple[Mapping[str, Any], ...]:
    raw = body.get("tools")
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise invalid_type("tools", raw, "an array")
    seen: set[str] = set()
    for index, tool in enumerate(raw):
        name = _tool_name(tool, f"tools[{index}]")
        if name in seen:
            raise FieldError(
                f"tools[{index}]", f"Invalid 'tools': the tool name '{name}' is declared twice."
            )
        seen.add(name)
    return tuple(raw)


def _tool_name(tool: object, param: str) -> str:
    if not isinstance(tool, dict):
        raise invalid_type(param, tool, "an object")
    kind = tool.get("type")
    if kind is None:
        raise missing(f"{param}.type")
    if kind not in TOOL_TYPES:
        raise invalid_value(f"{param}.type", kind, TOOL_TYPES)
    spec = tool.get(kind)
    if spec is None:
        raise missing(f"{param}.{kind}")
    if not isinstance(spec, dict):
        raise invalid_type(f"{param}.{kind}", spec, "an object")
    name = required_string(spec, "name", f"{param}.{kind}.name")
    if not TOOL_NAME_PATTERN.fullmatch(name):
        raise FieldError(
            f"{param}.{kind}.name",
            f"Invalid '{param}.{kind}.name': '{shown(name)}' does not match "
            "'^[a-zA-Z0-9_-]{1,64}$'.",
            "invalid_value",
        )
    parameters = spec.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise invalid_type(f"{param}.{kind}.parameters", parameters, "an object")
    description = spec.get("description")
    if description is not None and not isinstance(description, str):
        raise invalid_type(f"{param}.{kind}.description", description, "a string")
    return name


def tool_names(tools: tuple[Mapping[str, Any], ...]) -> frozenset[str]:
    return frozenset(tool[tool["type"]]["name"] for tool in tools)


def parse_tool_choice(
    body: Mapping[str, Any], tools: tuple[Mapping[str, Any], ...]
) -> str | Mapping[str, Any] | None:
    raw = body.get("tool_choice")
    if raw is None:
        return None
    if not tools and raw != "none":
        raise FieldError(
            "tool_choice",
            "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' "
            "are specified.",
        )
    if isinstance(raw, str):
        if raw not in TOOL_CHOICE_MODES:
            raise invalid_value("tool_choice", raw, TOOL_CHOICE_MODES)
        return raw
    if not isinstance(raw, dict):
        raise invalid_type("tool_choice", raw, "a string or an object")
    kind = raw.get("type")
    if kind not in TOOL_TYPES:
        raise invalid_value("tool_choice.type", kind, TOOL_TYPES)
    spec = raw.get(kind)
    if not isinstance(spec, dict):
        raise invalid_type(f"tool_choice.{kind}", spec, "an object")
    name = required_string(spec, "name", f"tool_choice.{kind}.name")
    if name not in tool_names(tools):
        raise FieldError(
            f"tool_choice.{kind}.name",
            f"Invalid 'tool_choice.{kind}.name': '{shown(name)}' is not one of the tools "
            "declared in 'tools'.",
        )
    return raw


def parse_flag(body: Mapping[str, Any], name: str) -> bool | None:
    raw = body.get(name)
    if raw is None:
        return None
    if not isinstance(raw, bool):
        raise invalid_type(name, raw, "a boolean")
    return raw


def parse_n(body: Mapping[str, Any]) -> int:
    raw = body.get("n")
    if raw is None:
        return 1
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise invalid_type("n", raw, "an integer")
    if not 1 <= raw <= MAX_CHOICES:
        raise FieldError("n", f"Invalid 'n': {shown(raw)}; it must be between 1 and {MAX_CHOICES}.")
    return raw


def check_top_logprobs(body: Mapping[str, Any], logprobs: bool) -> None:
    raw = body.get("top_logprobs")
    if raw is None:
        return
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise invalid_type("top_logprobs", raw, "an integer")
    if not 0 <= raw <= MAX_TOP_LOGPROBS:
        raise FieldError(
            "top_logprobs",
            f"Invalid 'top_logprobs': {shown(raw)}; it must be between 0 and {MAX_TOP_LOGPROBS}.",
        )
    if not logprobs:
        raise FieldError(
            "top_logprobs", "Invalid 'top_logprobs': it may only be set when 'logprobs' is true."
        )


def parse_response_format(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    raw = body.get("response_format")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise invalid_type("response_format", raw, "an object")
    kind = raw.get("type")
    if kind is None:
        raise missing("response_format.type")
    if kind not in RESPONSE_FORMAT_TYPES:
        raise invalid_value("response_format.type", kind, RESPONSE_FORMAT_TYPES)
    if kind == "json_schema":
        spec = raw.get("json_schema")
        if spec is None:
            raise missing("response_format.json_schema")
        if not isinstance(spec, dict):
            raise invalid_type("response_format.json_schema", spec, "an object")
        name = required_string(spec, "name", "response_format.json_schema.name")
        if not TOOL_NAME_PATTERN.fullmatch(name):
            raise FieldError(
                "response_format.json_schema.name",
                f"Invalid 'response_format.json_schema.name': '{shown(name)}' does not match "
                "'^[a-zA-Z0-9_-]{1,64}$'.",
            )
        schema = spec.get("schema")
        if schema is not None and not isinstance(schema, dict):
            raise invalid_type("response_format.json_schema.schema", schema, "an object")
    return raw


def check_tool_calls(raw: object, param: str) -> list[str]:
    """An assistant message's ``tool_calls``; returns the ids it declares."""
    if not isinstance(raw, list):
        raise invalid_type(param, raw, "an array")
    ids: list[str] = []
    for index, call in enumerate(raw):
        call_param = f"{param}[{index}]"
        if not isinstance(call, dict):
            raise invalid_type(call_param, call, "an object")
        call_id = required_string(call, "id", f"{call_param}.id")
        kind = call.get("type", "function")
        if kind not in TOOL_TYPES:
            raise invalid_value(f"{call_param}.type", kind, TOOL_TYPES)
        spec = call.get(kind)
        if not isinstance(spec, dict):
            raise invalid_type(f"{call_param}.{kind}", spec, "an object")
        required_string(spec, "name", f"{call_param}.{kind}.name")
        if kind == "function":
            required_string(spec, "arguments", f"{call_param}.function.arguments")
        ids.append(call_id)
    return ids


def check_tool_result(raw: Mapping[str, Any], param: str, open_calls: set[str]) -> None:
    """A ``tool`` message answers a tool call of an assistant message before it."""
    call_id = required_string(raw, "tool_call_id", f"{param}.tool_call_id")
    if call_id not in open_calls:
        raise FieldError(
            f"{param}.tool_call_id",
            f"Invalid '{param}.tool_call_id': '{shown(call_id)}' does not answer a tool call "
            "of a preceding assistant message ('tool' messages must respond to a message "
            "with 'tool_calls').",
        )


def check_image_part(part: Mapping[str, Any], param: str) -> None:
    image = part.get("image_url")
    if image is None:
        raise missing(f"{param}.image_url")
    if isinstance(image, str):
        return  # the older shorthand: the URL itself
    if not isinstance(image, dict):
        raise invalid_type(f"{param}.image_url", image, "an object")
    required_string(image, "url", f"{param}.image_url.url")
