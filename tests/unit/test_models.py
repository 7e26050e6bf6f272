"""The shared wire types: what a chat request parses to, and the exact error for each bad field."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

import shared.models
from shared.chat_parsing import parse_chat_request, parse_message
from shared.models import (
    ChatMessage,
    ChatRequest,
    FieldError,
    StreamOptions,
    estimate_tokens,
)

ROLES = "'assistant', 'developer', 'function', 'system', 'tool', 'user'"


def chat(**fields: Any) -> dict[str, Any]:
    request: dict[str, Any] = {"model": "gpt-4", "messages": [{"role": "user", "content": "hi"}]}
    request.update(fields)
    return request


def field_error(body: object) -> tuple[str | None, str, str]:
    with pytest.raises(FieldError) as info:
        parse_chat_request(body)
    return info.value.param, info.value.message, info.value.code


@pytest.mark.parametrize(
    ("text", "tokens"), [("", 0), ("a", 1), ("abc", 1), ("abcd", 1), ("abcde", 2), ("x" * 41, 11)]
)
def test_estimate_tokens_rounds_up_at_four_characters_a_token(text: str, tokens: int) -> None:
    assert estimate_tokens(text) == tokens


def test_minimal_body_parses_to_the_defaults() -> None:
    assert parse_chat_request(chat()) == ChatRequest("gpt-4", (ChatMessage("user", "hi"),))


def test_every_known_field_is_parsed_and_unknown_ones_are_kept() -> None:
    body = chat(
        temperature=1,
        top_p=0.5,
        max_tokens=10,
        max_completion_tokens=20,
        stream=True,
        stream_options={"include_usage": True},
        stop=["a", "b"],
        preferred_provider="openai",
        fallbacks=["claude"],
        stream_mode="relay",
        seed=7,
    )
    request = parse_chat_request(body)
    assert request == ChatRequest(
        model="gpt-4",
        messages=(ChatMessage("user", "hi"),),
        temperature=1.0,
        top_p=0.5,
        max_tokens=10,
        stream=True,
        stream_options=StreamOptions(include_usage=True),
        stop=("a", "b"),
        preferred_provider="openai",
        fallbacks=("claude",),
        extra={"stream_mode": "relay", "seed": 7},
    )
    assert type(request.temperature) is float


def test_max_completion_tokens_stands_in_for_a_missing_max_tokens() -> None:
    assert parse_chat_request(chat(max_completion_tokens=20)).max_tokens == 20
    assert parse_chat_request(chat(max_tokens=None, max_completion_tokens=20)).max_tokens == 20


def test_null_optional_fields_mean_their_defaults() -> None:
    body = chat(stream=None, temperature=None, stop=None, stream_options=None, fallbacks=None)
    assert parse_chat_request(body) == ChatRequest("gpt-4", (ChatMessage("user", "hi"),))


def test_a_single_stop_string_becomes_a_one_tuple() -> None:
    assert parse_chat_request(chat(stop="END")).stop == ("END",)


def test_stream_options_default_to_no_usage() -> None:
    assert parse_chat_request(chat(stream_options={})).stream_options == StreamOptions()


def test_message_name_and_unknown_fields_are_kept() -> None:
    raw = {"role": "tool", "content": "42", "name": "calc", "tool_call_id": "call_1"}
    assert parse_message(raw, 0) == ChatMessage(
        "tool", "42", name="calc", extra={"tool_call_id": "call_1"}
    )


@pytest.mark.parametrize("role", ["assistant", "function"])
def test_assistant_and_function_turns_may_have_no_content(role: str) -> None:
    calls = [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    assert parse_message({"role": role, "tool_calls": calls}, 0) == ChatMessage(
        role, None, extra={"tool_calls": calls}
    )
    assert parse_message({"role": role, "content": None}, 0).content is None


def test_content_parts_are_copied_and_only_text_parts_count_as_text() -> None:
    parts = [
        {"type": "text", "text": "Hello, "},
        {"type": "image_url", "image_url": {"url": "http://x"}},
        {"type": "text", "text": "world"},
    ]
    message = parse_message({"role": "user", "content": parts}, 0)
    assert message.content == parts
    assert message.content is not parts
    assert message.text == "Hello, world"


def test_prompt_text_and_token_estimate_cover_every_message() -> None:
    request = parse_chat_request(
        chat(
            messages=[
                {"role": "system", "content": "Be brief."},
                {"role": "assistant", "content": None},
                {"role": "user", "content": [{"type": "text", "text": "Say hello"}]},
            ]
        )
    )
    assert request.prompt_text == "Be brief.\n\nSay hello"
    assert request.estimated_prompt_tokens() == estimate_tokens("Be brief.") + estimate_tokens(
        "Say hello"
    )


def test_the_token_estimate_is_not_part_of_equality_or_repr() -> None:
    estimated = parse_chat_request(chat())
    fresh = parse_chat_request(chat())
    assert estimated.estimated_prompt_tokens() == 1
    assert estimated == fresh
    assert repr(estimated) == repr(fresh)


@pytest.mark.parametrize("extra", [{}, {"stream": True}])
def test_parsed_requests_and_messages_are_frozen_instances_of_the_public_types(
    extra: dict[str, Any],
) -> None:
    request = parse_chat_request(chat(**extra))
    assert type(request) is ChatRequest
    assert type(request.messages[0]) is ChatMessage
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.model = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.messages[0].content = "other"  # type: ignore[misc]


@pytest.mark.parametrize("extra", [{}, {"stream": True}])
def test_the_estimate_is_made_while_parsing_and_kept(
    extra: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    request = parse_chat_request(chat(messages=[{"role": "user", "content": "x" * 9}], **extra))

    def no_second_estimate(text: str) -> int:
        raise AssertionError("estimated again")

    monkeypatch.setattr(shared.models, "estimate_tokens", no_second_estimate)
    assert request.estimated_prompt_tokens() == 3
    assert request.estimated_prompt_tokens() == 3


def test_replacing_the_messages_replaces_the_estimate() -> None:
    request = parse_chat_request(chat())
    assert request.estimated_prompt_tokens() == 1
    longer = dataclasses.replace(request, messages=(ChatMessage("user", "x" * 40),))
    assert longer.estimated_prompt_tokens() == 10


def test_a_request_built_directly_estimates_its_own_messages() -> None:
    request = ChatRequest("gpt-4", (ChatMessage("user", "x" * 9), ChatMessage("user", "y")))
    assert request.estimated_prompt_tokens() == 4
    assert request.estimated_prompt_tokens() == 4


def _typed(param: str, expected: str, got: str) -> tuple[str, str, str]:
    message = f"Invalid type for '{param}': expected {expected}, but got {got} instead."
    return param, message, "invalid_type"


def _missing(param: str) -> tuple[str, str, str]:
    return param, f"Missing required parameter: '{param}'.", "missing_required_parameter"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            [1],
            (None, "The request body must be a JSON object, but got array.", "invalid_type"),
        ),
        (
            "x",
            (None, "The request body must be a JSON object, but got string.", "invalid_type"),
        ),
        ({"messages": []}, _missing("model")),
        (chat(model=None), _missing("model")),
        (chat(model=4), _typed("model", "a string", "integer")),
        (chat(model=""), ("model", "Invalid 'model': empty string.", "invalid_value")),
        ({"model": "gpt-4"}, _missing("messages")),
        (chat(messages={"role": "user"}), _typed("messages", "an array", "object")),
        (
            chat(messages=[]),
            (
                "messages",
                "Invalid 'messages': empty array. Expected an array with minimum length 1.",
                "empty_array",
            ),
        ),
        (chat(messages=["hi"]), _typed("messages[0]", "an object", "string")),
        (chat(messages=[None]), _typed("messages[0]", "an object", "null")),
        (chat(messages=[{"content": "x"}]), _missing("messages[0].role")),
        (chat(messages=[{"role": None, "content": "x"}]), _missing("messages[0].role")),
        (
            chat(messages=[{"role": 1, "content": "x"}]),
            _typed("messages[0].role", "a string", "integer"),
        ),
        (
            chat(messages=[{"role": ["user"], "content": "x"}]),
            _typed("messages[0].role", "a string", "array"),
        ),
        (
            chat(messages=[{"role": "wizard", "content": "x"}]),
            (
                "messages[0].role",
                f"Invalid value: 'wizard'. Supported values are: {ROLES}.",
                "invalid_value",
            ),
        ),
        (chat(messages=[{"role": "user"}]), _missing("messages[0].content")),
        (chat(messages=[{"role": "system", "content": None}]), _missing("messages[0].content")),
        (
            chat(messages=[{"role": "user", "content": 3.5}]),
            _typed("messages[0].content", "a string or an array of content parts", "number"),
        ),
        (
            chat(messages=[{"role": "user", "content": True}]),
            _typed("messages[0].content", "a string or an array of content parts", "boolean"),
        ),
        (
            chat(messages=[{"role": "user", "content": {"text": "x"}}]),
            _typed("messages[0].content", "a string or an array of content parts", "object"),
        ),
        (
            chat(messages=[{"role": "user", "content": ["x"]}]),
            _typed("messages[0].content[0]", "an object", "string"),
        ),
        (
            chat(messages=[{"role": "user", "content": [{"text": "x"}]}]),
            _missing("messages[0].content[0].type"),
        ),
        (
            chat(messages=[{"role": "user", "content": [{"type": 1}]}]),
            _typed("messages[0].content[0].type", "a string", "integer"),
        ),
        (
            chat(messages=[{"role": "user", "content": [{"type": "text"}]}]),
            _typed("messages[0].content[0].text", "a string", "null"),
        ),
        (
            chat(
                messages=[
                    {
                        "role": "user",
                        "content": [
                            {"type": "image_url", "image_url": {"url": "http://x"}},
                            {"type": "text", "text": 1},
                        ],
                    }
                ]
            ),
            _typed("messages[0].content[1].text", "a string", "integer"),
        ),
        (
            chat(messages=[{"role": "user", "content": "x", "name": 7}]),
            _typed("messages[0].name", "a string", "integer"),
        ),
        (
            chat(messages=[{"role": "user", "content": "x"}, {"role": "bot", "content": "y"}]),
            (
                "messages[1].role",
                f"Invalid value: 'bot'. Supported values are: {ROLES}.",
                "invalid_value",
            ),
        ),
        (chat(stream="yes"), _typed("stream", "a boolean", "string")),
        (chat(preferred_provider=1), _typed("preferred_provider", "a string", "integer")),
        (chat(max_tokens=True), _typed("max_tokens", "an integer", "boolean")),
        (chat(max_tokens=1.5), _typed("max_tokens", "an integer", "number")),
        (
            chat(max_tokens=0),
            ("max_tokens", "Invalid 'max_tokens': 0; it must be at least 1.", "invalid_value"),
        ),
        (
            chat(max_completion_tokens=-2),
            (
                "max_completion_tokens",
                "Invalid 'max_completion_tokens': -2; it must be at least 1.",
                "invalid_value",
            ),
        ),
        (chat(temperature="hot"), _typed("temperature", "a decimal", "string")),
        (chat(temperature=False), _typed("temperature", "a decimal", "boolean")),
        (
            chat(temperature=2.5),
            (
                "temperature",
                "Invalid 'temperature': 2.5 is out of range; it must be between 0 and 2.",
                "invalid_value",
            ),
        ),
        (
            chat(top_p=-1),
            (
                "top_p",
                "Invalid 'top_p': -1 is out of range; it must be between 0 and 1.",
                "invalid_value",
            ),
        ),
        (chat(stream_options=[]), _typed("stream_options", "an object", "array")),
        (
            chat(stream_options={"include_usage": 1}),
            _typed("stream_options.include_usage", "a boolean", "integer"),
        ),
        (chat(stop=["a", 1]), _typed("stop", "a string or an array of strings", "array")),
        (chat(stop=5), _typed("stop", "a string or an array of strings", "integer")),
        (chat(fallbacks="claude"), _typed("fallbacks", "an array of model names", "string")),
        (chat(fallbacks=["claude", ""]), _typed("fallbacks[1]", "a non-empty string", "string")),
        (chat(fallbacks=[None]), _typed("fallbacks[0]", "a non-empty string", "null")),
    ],
)
def test_each_bad_field_has_its_exact_error(
    body: object, expected: tuple[str | None, str, str]
) -> None:
    assert field_error(body) == expected


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": 1, "messages": 1}, "model"),
        (chat(messages=[{"role": "x"}, {"role": 1}]), "messages[0].role"),
        (chat(messages=[{"role": "user", "content": "x"}, 5], stream="no"), "messages[1]"),
        (chat(stream="no", preferred_provider=1), "stream"),
        (chat(preferred_provider=1, max_tokens=0), "preferred_provider"),
        (chat(max_tokens=0, temperature=9), "max_tokens"),
        (chat(max_completion_tokens=0, temperature=9), "max_completion_tokens"),
        (chat(temperature=9, top_p=9), "temperature"),
        (chat(top_p=9, stream_options=1), "top_p"),
        (chat(stream_options=1, stop=1), "stream_options"),
        (chat(stop=1, fallbacks=1), "stop"),
    ],
)
def test_the_first_bad_field_is_the_one_reported(body: object, param: str) -> None:
    assert field_error(body)[0] == param
