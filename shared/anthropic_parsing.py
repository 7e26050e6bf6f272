"""An Anthropic Messages request read into our OpenAI-shaped :class:`ChatRequest`.

The orchestrator serves ``POST /v1/messages`` through the same engine as chat completions,
so a request is translated once, here, into the hub format; the adapters then send it to
either wire format (an Anthropic deployment gets it translated back). Errors name the field
the way Anthropic does (``messages.1.content.0.source``), as a :class:`FieldError`.

What maps to what:

- ``system`` (text or text blocks) -> a system message first;
- ``text`` blocks -> text parts; ``image`` blocks (base64 or url source) -> ``image_url``
  parts (a data URL for base64);
- an assistant's ``tool_use`` blocks -> its ``tool_calls`` (input as a JSON string);
- a user turn's ``tool_result`` blocks -> ``tool`` messages before the turn's other content
  (an ``is_error`` result says so in its text);
- ``thinking`` / ``redacted_thinking`` blocks in the history are dropped (no OpenAI
  equivalent; a translated turn to Anthropic cannot carry their signatures anyway);
- ``tools`` -> function tools (``input_schema`` -> ``parameters``); ``tool_choice`` auto /
  any / tool / none -> auto / required / the named function / none, and
  ``disable_parallel_tool_use`` -> ``parallel_tool_calls: false``;
- ``stop_sequences`` -> ``stop``; ``metadata.user_id`` -> ``user``;
- the other top-level fields (``thinking``, ``top_k``, ``service_tier``, ...) ride along
  in :data:`ANTHROPIC_FIELDS` and reach Anthropic deployments unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

import orjson

from shared.anthropic_fields import field_required, wrong_type
from shared.chat_parsing import parse_chat_request
from shared.models import ChatRequest, FieldError

ANTHROPIC_FIELDS: Final = "anthropic_fields"
"""The request's ``extra`` key holding Anthropic-only fields for Anthropic deployments."""
ANTHROPIC_BETA: Final = "anthropic_beta"
"""The request's ``extra`` key holding the caller's ``anthropic-beta`` header."""
_KNOWN: Final = frozenset(
    {
        "model", "messages", "system", "max_tokens", "temperature", "top_p", "stop_sequences",
        "stream", "tools", "tool_choice", "metadata", "preferred_provider", "fallbacks",
        "stream_mode",
    }
)  # fmt: skip
ROLES: Final = ("user", "assistant")


def parse_messages_request(body: object, beta: str | None = None) -> ChatRequest:
    """An Anthropic Messages body as our request; :class:`FieldError` names a bad field.

    The OpenAI-shaped body it becomes goes through :func:`parse_chat_request` too, so every
    rule of that parser (types, ranges, tool shapes) holds for both APIs."""
    if not isinstance(body, dict):
        raise FieldError(None, "Request body must be a JSON object", "invalid_type")
    for name in ("model", "max_tokens", "messages"):
        if body.get(name) is None:
            raise field_required(name)
    max_tokens = body["max_tokens"]
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
        raise wrong_type("max_tokens", "a valid integer", max_tokens)
    if max_tokens < 1:
        raise FieldError("max_tokens", "max_tokens: Input should be greater than or equal to 1")
    temperature = body.get("temperature")
    in_range = not isinstance(temperature, int | float) or 0 <= temperature <= 1
    if not isinstance(temperature, bool) and not in_range:
        raise FieldError("temperature", "temperature: Input should be between 0 and 1")
    openai: dict[str, Any] = {
        "model": body["model"],
        "max_tokens": max_tokens,
        "messages": [*_system(body.get("system")), *_messages(body["messages"])],
    }
    for ours, theirs in (("temperature", "temperature"), ("top_p", "top_p"),
                         ("stream", "stream"), ("preferred_provider", "preferred_provider"),
                         ("fallbacks", "fallbacks"), ("stream_mode", "stream_mode")):  # fmt: skip
        if body.get(theirs) is not None:
            openai[ours] = body[theirs]
    _options(body, openai)
    extra = {k: v for k, v in body.items() if k not in _KNOWN}
    if extra:
        openai[ANTHROPIC_FIELDS] = extra
    if beta:
        openai[ANTHROPIC_BETA] = beta
    try:
        return parse_chat_request(openai)
    except FieldError as exc:  # a rule of the shared parser, in Anthropic's words
        param = anthropic_path(exc.param) if exc.param is not None else None
        raise FieldError(param, f"{param}: {exc.message}", exc.code) from None


def anthropic_path(param: str) -> str:
    """An OpenAI field path as the Messages API names it: ``tools[0].function.parameters``
    -> ``tools.0.input_schema`` (message indices may differ: a system prompt and tool
    results are messages of their own in the hub request)."""
    path = re.sub(r"\[(\d+)\]", r".\1", param)
    if path.startswith("tools."):
        path = path.replace(".function.", ".", 1).replace(".parameters", ".input_schema", 1)
    return path.replace("stop", "stop_sequences", 1) if path.startswith("stop") else path


def _options(body: Mapping[str, Any], openai: dict[str, Any]) -> None:
    stop = body.get("stop_sequences")
    if stop is not None:
        if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
            raise wrong_type("stop_sequences", "a valid list of strings", stop)
        if stop:
            openai["stop"] = stop
    metadata = body.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise wrong_type("metadata", "a valid dictionary", metadata)
        if isinstance(metadata.get("user_id"), str):
            openai["user"] = metadata["user_id"]
    tools = body.get("tools")
    if tools is not None:
        openai["tools"] = _tools(tools)
    choice = body.get("tool_choice")
    if choice is not None:
        _tool_choice(choice, openai)


def _system(raw: object) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if isinstance(raw, str):
        return [{"role": "system", "content": raw}] if raw else []
    if not isinstance(raw, list):
        raise wrong_type("system", "a valid string or a list of text blocks", raw)
    texts = []
    for index, block in enumerate(raw):
        if not isinstance(block, dict) or block.get("type") != "text":
            raise FieldError(f"system.{index}", f"system.{index}: Input should be a text block")
        if not isinstance(block.get("text"), str):
            raise wrong_type(f"system.{index}.text", "a valid string", block.get("text"))
        texts.append(block["text"])
    return [{"role": "system", "content": "\n\n".join(texts)}]


def _messages(raw: object) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise wrong_type("messages", "a valid list", raw)
    if not raw:
        raise FieldError("messages", "messages: at least one message is required")
    out: list[dict[str, Any]] = []
    for index, message in enumerate(raw):
        param = f"messages.{index}"
        if not isinstance(message, dict):
            raise wrong_type(param, "a valid dictionary", message)
        role = message.get("role")
        if role not in ROLES:
            raise FieldError(
                f"{param}.role", f"{param}.role: Input should be 'user' or 'assistant'"
            )
        if "content" not in message:
            raise field_required(f"{param}.content")
        content = message["content"]
        if isinstance(content, str):
            out.append({"role": role, "content": content})
        elif isinstance(content, list):
            out.extend(_turn(role, content, f"{param}.content"))
        else:
            raise wrong_type(
                f"{param}.content", "a valid string or a list of content blocks", content
            )
    return out


def _turn(role: str, blocks: list[Any], param: str) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for index, block in enumerate(blocks):
        where = f"{param}.{index}"
        if not isinstance(block, dict):
            raise wrong_type(where, "a valid dictionary", block)
        match block.get("type"):
            case "text":
                if not isinstance(block.get("text"), str):
                    raise wrong_type(f"{where}.text", "a valid string", block.get("text"))
                parts.append({"type": "text", "text": block["text"]})
            case "image":
                parts.append(_image(block.get("source"), f"{where}.source"))
            case "tool_use" if role == "assistant":
                calls.append(_tool_use(block, where))
            case "tool_result" if role == "user":
                results.append(_tool_result(block, where))
            case "thinking" | "redacted_thinking":
                pass
            case None:
                raise field_required(f"{where}.type")
            case other:
                raise FieldError(
                    f"{where}.type",
                    f"{where}.type: '{other}' is not a block type a {role} turn may hold here",
                )
    if role == "assistant":
        message: dict[str, Any] = {"role": "assistant", "content": parts or None}
        if calls:
            message["tool_calls"] = calls
        return [message]
    return [*results, *([{"role": "user", "content": parts}] if parts else [])]


def _image(source: object, param: str) -> dict[str, Any]:
    if not isinstance(source, dict):
        raise wrong_type(param, "a valid dictionary", source)
    kind = source.get("type")
    if kind == "base64":
        media, data = source.get("media_type"), source.get("data")
        if not isinstance(media, str) or not isinstance(data, str):
            raise FieldError(param, f"{param}: a base64 source needs media_type and data")
        url = f"data:{media};base64,{data}"
    elif kind == "url" and isinstance(source.get("url"), str):
        url = source["url"]
    else:
        raise FieldError(f"{param}.type", f"{param}.type: Input should be 'base64' or 'url'")
    return {"type": "image_url", "image_url": {"url": url}}


def _tool_use(block: Mapping[str, Any], param: str) -> dict[str, Any]:
    for key in ("id", "name"):
        if not isinstance(block.get(key), str):
            raise wrong_type(f"{param}.{key}", "a valid string", block.get(key))
    if not isinstance(block.get("input"), dict):
        raise wrong_type(f"{param}.input", "a valid dictionary", block.get("input"))
    arguments = orjson.dumps(block["input"]).decode()
    return {
        "id": block["id"],
        "type": "function",
        "function": {"name": block["name"], "arguments": arguments},
    }


def _tool_result(block: Mapping[str, Any], param: str) -> dict[str, Any]:
    call_id = block.get("tool_use_id")
    if not isinstance(call_id, str):
        raise wrong_type(f"{param}.tool_use_id", "a valid string", call_id)
    content = block.get("content", "")
    if isinstance(content, list):
        content = "".join(
            b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"
        )
    elif not isinstance(content, str):
        raise wrong_type(f"{param}.content", "a valid string or a list of blocks", content)
    if block.get("is_error"):
        content = f"Error: {content}"
    return {"role": "tool", "tool_call_id": call_id, "content": content}


def _tools(raw: object) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise wrong_type("tools", "a valid list", raw)
    tools = []
    for index, tool in enumerate(raw):
        if not isinstance(tool, dict):
            raise wrong_type(f"tools.{index}", "a valid dictionary", tool)
        name = tool.get("name")
        if name is None:
            raise field_required(f"tools.{index}.name")
        if not isinstance(name, str):
            raise wrong_type(f"tools.{index}.name", "a valid string", name)
        schema = tool.get("input_schema")
        if schema is not None and not isinstance(schema, dict):
            raise wrong_type(f"tools.{index}.input_schema", "a valid dictionary", schema)
        function: dict[str, Any] = {"name": name}
        if tool.get("description") is not None:
            function["description"] = tool["description"]
        if tool.get("input_schema") is not None:
            function["parameters"] = tool["input_schema"]
        tools.append({"type": "function", "function": function})
    return tools


def _tool_choice(raw: object, openai: dict[str, Any]) -> None:
    if not isinstance(raw, dict):
        raise wrong_type("tool_choice", "a valid dictionary", raw)
    match raw.get("type"):
        case "auto":
            openai["tool_choice"] = "auto"
        case "any":
            openai["tool_choice"] = "required"
        case "none":
            openai["tool_choice"] = "none"
        case "tool":
            openai["tool_choice"] = {"type": "function", "function": {"name": raw.get("name")}}
        case _:
            raise FieldError(
                "tool_choice.type",
                "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'",
            )
    if raw.get("disable_parallel_tool_use"):
        openai["parallel_tool_calls"] = False
