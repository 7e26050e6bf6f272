"""Parsing an OpenAI chat-completions body into :class:`~shared.models.ChatRequest`.

Everything is parsed from already-decoded JSON (``orjson.loads``) and fails with a
:class:`~shared.models.FieldError` naming the exact field at fault (``messages[1].role``).
Only the shape is checked here; routing-dependent limits (a model's context window, its
output limit) belong to the orchestrator's validation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING, fields
from typing import Any, Final

from shared.field_checks import invalid_type, missing, type_name
from shared.models import (
    OPENAI_ROLES,
    TEMPERATURE_RANGE,
    TOP_P_RANGE,
    ChatMessage,
    ChatRequest,
    FieldError,
    StreamOptions,
    estimate_tokens,
    shown,
)
from shared.tool_parsing import (
    check_image_part,
    check_tool_calls,
    check_tool_result,
    check_top_logprobs,
    parse_flag,
    parse_n,
    parse_response_format,
    parse_tool_choice,
    parse_tools,
)

_KNOWN_REQUEST_FIELDS: Final = frozenset(
    {
        "model",
        "messages",
        "temperature",
        "top_p",
        "max_tokens",
        "max_completion_tokens",
        "stream",
        "stream_options",
        "stop",
        "preferred_provider",
        "fallbacks",
        "n",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "response_format",
        "logprobs",
    }
)
_KNOWN_MESSAGE_FIELDS: Final = frozenset({"role", "content", "name"})
_PLAIN_ROLES: Final = OPENAI_ROLES - {"tool"}
"""Roles a message of just role and text may have: a tool message also needs its call id."""


# The __init__ that dataclasses generate for a frozen class sets each field through
# object.__setattr__; with the request's dozen fields, that was the largest single cost of
# parsing a typical body. The parser's common cases fill the slots directly instead
# (test_models holds the results equal to the constructors').
def _slot_setter(cls: type, name: str) -> Callable[[object, object], None]:
    setter: Callable[[object, object], None] = vars(cls)[name].__set__
    return setter


_set_role = _slot_setter(ChatMessage, "role")
_set_content = _slot_setter(ChatMessage, "content")
_set_name = _slot_setter(ChatMessage, "name")
_set_message_extra = _slot_setter(ChatMessage, "extra")
_set_model = _slot_setter(ChatRequest, "model")
_set_messages = _slot_setter(ChatRequest, "messages")
_set_request_extra = _slot_setter(ChatRequest, "extra")
_set_prompt_tokens = _slot_setter(ChatRequest, "_prompt_tokens")
_REQUEST_DEFAULTS: Final = tuple(
    (_slot_setter(ChatRequest, f.name), f.default)
    for f in fields(ChatRequest)
    if f.init and f.default is not MISSING
)


def _text_message(role: str, content: str) -> ChatMessage:
    """``ChatMessage(role, content)``."""
    message = object.__new__(ChatMessage)
    _set_role(message, role)
    _set_content(message, content)
    _set_name(message, None)
    _set_message_extra(message, {})
    return message


def _default_request(
    model: str, messages: tuple[ChatMessage, ...], prompt_tokens: int
) -> ChatRequest:
    """``ChatRequest(model, messages)``, its token estimate already known."""
    request = object.__new__(ChatRequest)
    _set_model(request, model)
    _set_messages(request, messages)
    for set_option, default in _REQUEST_DEFAULTS:
        set_option(request, default)
    _set_request_extra(request, {})
    _set_prompt_tokens(request, prompt_tokens)
    return request


def require_object(body: object) -> Mapping[str, Any]:
    if not isinstance(body, dict):
        raise FieldError(
            None,
            f"The request body must be a JSON object, but got {type_name(body)}.",
            "invalid_type",
        )
    return body


def _optional_number(
    body: Mapping[str, Any], name: str, bounds: tuple[float, float] | None
) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid_type(name, value, "a decimal")
    if bounds is not None and not bounds[0] <= value <= bounds[1]:
        low, high = bounds
        raise FieldError(
            name,
            f"Invalid '{name}': {shown(value)} is out of range; "
            f"it must be between {low:g} and {high:g}.",
        )
    return float(value)


def _optional_positive_int(body: Mapping[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_type(name, value, "an integer")
    if value < 1:
        raise FieldError(name, f"Invalid '{name}': {shown(value)}; it must be at least 1.")
    return value


def _parse_content(raw: object, param: str, role: str) -> str | list[dict[str, Any]] | None:
    if raw is None:
        if role in ("assistant", "function"):
            return None  # an assistant turn that only called tools has no content
        raise missing(param)
    if isinstance(raw, str):
        return raw
    if isinstance(raw, list):
        for index, part in enumerate(raw):
            part_param = f"{param}[{index}]"
            if not isinstance(part, dict):
                raise invalid_type(part_param, part, "an object")
            part_type = part.get("type")
            if not isinstance(part_type, str):
                raise (
                    missing(f"{part_param}.type")
                    if part_type is None
                    else invalid_type(f"{part_param}.type", part_type, "a string")
                )
            if part_type == "text" and not isinstance(part.get("text"), str):
                raise invalid_type(f"{part_param}.text", part.get("text"), "a string")
            if part_type == "image_url":
                check_image_part(part, part_param)
        return list(raw)
    raise invalid_type(param, raw, "a string or an array of content parts")


def parse_message(raw: object, index: int, open_calls: set[str] | None = None) -> ChatMessage:
    """One message; ``open_calls`` (the tool-call ids of the assistant messages before it)
    is extended with this message's calls, and a tool message must answer one of them
    (None: a message on its own, with no conversation to check against)."""
    if isinstance(raw, dict) and len(raw) == 2:
        role = raw.get("role")
        content = raw.get("content")
        # Nearly every message is just a known role and a text: nothing more to check.
        if isinstance(content, str) and isinstance(role, str) and role in _PLAIN_ROLES:
            return _text_message(role, content)
    return _parse_any_message(raw, index, open_calls)


def _parse_any_message(raw: object, index: int, open_calls: set[str] | None) -> ChatMessage:
    param = f"messages[{index}]"
    if not isinstance(raw, dict):
        raise invalid_type(param, raw, "an object")
    role = raw.get("role")
    if role is None:
        raise missing(f"{param}.role")
    if not isinstance(role, str):
        raise invalid_type(f"{param}.role", role, "a string")
    if role not in OPENAI_ROLES:
        allowed = "', '".join(sorted(OPENAI_ROLES))
        raise FieldError(
            f"{param}.role",
            f"Invalid value: '{shown(role)}'. Supported values are: '{allowed}'.",
        )
    if "content" not in raw and role not in ("assistant", "function"):
        raise missing(f"{param}.content")
    content = _parse_content(raw.get("content"), f"{param}.content", role)
    name = raw.get("name")
    if name is not None and not isinstance(name, str):
        raise invalid_type(f"{param}.name", name, "a string")
    if role == "assistant" and raw.get("tool_calls") is not None:
        calls = check_tool_calls(raw["tool_calls"], f"{param}.tool_calls")
        if open_calls is not None:
            open_calls.update(calls)
    elif role == "tool" and open_calls is not None:
        check_tool_result(raw, param, open_calls)
    extra = {k: v for k, v in raw.items() if k not in _KNOWN_MESSAGE_FIELDS}
    return ChatMessage(role=role, content=content, name=name, extra=extra)


def _parse_messages(body: Mapping[str, Any]) -> tuple[tuple[ChatMessage, ...], int]:
    """The messages and their estimated prompt tokens, counted while each text is at hand."""
    raw = body.get("messages")
    if raw is None:
        raise missing("messages")
    if not isinstance(raw, list):
        raise invalid_type("messages", raw, "an array")
    if not raw:
        raise FieldError(
            "messages",
            "Invalid 'messages': empty array. Expected an array with minimum length 1.",
            "empty_array",
        )
    messages: list[ChatMessage] = []
    tokens = 0
    open_calls: set[str] = set()
    for index, item in enumerate(raw):
        message = parse_message(item, index, open_calls)
        messages.append(message)
        tokens += estimate_tokens(message.text)
    return tuple(messages), tokens


def _parse_stop(body: Mapping[str, Any]) -> tuple[str, ...]:
    raw = body.get("stop")
    if raw is None:
        return ()
    if isinstance(raw, str):
        return (raw,)
    if isinstance(raw, list) and all(isinstance(s, str) for s in raw):
        return tuple(raw)
    raise invalid_type("stop", raw, "a string or an array of strings")


def _parse_stream_options(body: Mapping[str, Any]) -> StreamOptions | None:
    raw = body.get("stream_options")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise invalid_type("stream_options", raw, "an object")
    include = raw.get("include_usage", False)
    if not isinstance(include, bool):
        raise invalid_type("stream_options.include_usage", include, "a boolean")
    return StreamOptions(include_usage=include)


def _parse_fallbacks(body: Mapping[str, Any]) -> tuple[str, ...]:
    raw = body.get("fallbacks")
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise invalid_type("fallbacks", raw, "an array of model names")
    for index, item in enumerate(raw):
        if not isinstance(item, str) or not item:
            raise invalid_type(f"fallbacks[{index}]", item, "a non-empty string")
    return tuple(raw)


def parse_routing_fields(obj: Mapping[str, Any]) -> tuple[str | None, tuple[str, ...]]:
    """The orchestrator's own fields of any caller API: ``preferred_provider``, ``fallbacks``."""
    return _parse_preferred(obj), _parse_fallbacks(obj)


def _parse_preferred(obj: Mapping[str, Any]) -> str | None:
    preferred = obj.get("preferred_provider")
    if preferred is not None and not isinstance(preferred, str):
        raise invalid_type("preferred_provider", preferred, "a string")
    return preferred


def parse_chat_request(body: object) -> ChatRequest:
    """Parse an OpenAI chat-completions body; raise :class:`FieldError` at the first bad field."""
    obj = require_object(body)
    model = obj.get("model")
    if model is None:
        raise missing("model")
    if not isinstance(model, str):
        raise invalid_type("model", model, "a string")
    if not model:
        raise FieldError("model", "Invalid 'model': empty string.", "invalid_value")
    messages, prompt_tokens = _parse_messages(obj)
    if len(obj) == 2:  # just model and messages, as most requests are
        return _default_request(model, messages, prompt_tokens)
    request = _with_options(obj, model, messages)
    _set_prompt_tokens(request, prompt_tokens)
    return request


def _with_options(
    obj: Mapping[str, Any], model: str, messages: tuple[ChatMessage, ...]
) -> ChatRequest:
    stream = obj.get("stream", False)
    if stream is None:
        stream = False
    if not isinstance(stream, bool):
        raise invalid_type("stream", stream, "a boolean")
    preferred = _parse_preferred(obj)
    max_tokens = _optional_positive_int(obj, "max_tokens")
    if max_tokens is None:
        max_tokens = _optional_positive_int(obj, "max_completion_tokens")
    tools = parse_tools(obj)
    logprobs = parse_flag(obj, "logprobs") or False
    check_top_logprobs(obj, logprobs)
    return ChatRequest(
        model=model,
        messages=messages,
        temperature=_optional_number(obj, "temperature", TEMPERATURE_RANGE),
        top_p=_optional_number(obj, "top_p", TOP_P_RANGE),
        max_tokens=max_tokens,
        stream=stream,
        stream_options=_parse_stream_options(obj),
        stop=_parse_stop(obj),
        preferred_provider=preferred,
        fallbacks=_parse_fallbacks(obj),
        n=parse_n(obj),
        tools=tools,
        tool_choice=parse_tool_choice(obj, tools),
        parallel_tool_calls=parse_flag(obj, "parallel_tool_calls"),
        response_format=parse_response_format(obj),
        logprobs=logprobs,
        extra={k: v for k, v in obj.items() if k not in _KNOWN_REQUEST_FIELDS},
    )
