"""Each validation rule: the status, the OpenAI ``param`` and ``code``, and what passes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest

from orchestrator.capabilities import Need
from orchestrator.http.validation import ValidationError, validate_chat_request
from orchestrator.requests import RoutedRequest


@dataclass
class FakeRouter:
    """Routes as data: model -> (output limit, context limit)."""

    limits: dict[str, tuple[int, int]] = field(
        default_factory=lambda: {"gpt-4": (4096, 8192), "claude": (8192, 200_000)}
    )
    providers: frozenset[str] = frozenset({"openai", "anthropic"})

    def route(self, model: str) -> tuple[object, ...] | None:
        return (model,) if model in self.limits else None

    def output_limit(self, model: str) -> int:
        return self.limits[model][0]

    def context_limit(self, model: str) -> int:
        return self.limits[model][1]

    def provider_names(self) -> frozenset[str]:
        return self.providers

    def unable(self, request: RoutedRequest) -> Need | None:
        return None  # every capability: the router's own tests cover the rule


def body(**fields: Any) -> bytes:
    request: dict[str, Any] = {"model": "gpt-4", "messages": [{"role": "user", "content": "hi"}]}
    request.update(fields)
    return orjson.dumps(request)


def rejected(raw: bytes, router: FakeRouter | None = None) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        validate_chat_request(raw, router or FakeRouter())
    return info.value


def test_valid_request_is_parsed_with_its_fields() -> None:
    request = validate_chat_request(
        body(temperature=0.5, max_tokens=100, preferred_provider="anthropic", x_custom=1),
        FakeRouter(),
    )
    assert request.model == "gpt-4"
    assert request.messages[0].content == "hi"
    assert request.temperature == 0.5
    assert request.max_tokens == 100
    assert request.preferred_provider == "anthropic"
    assert request.extra == {"x_custom": 1}


@pytest.mark.parametrize("raw", [b"", b"   \n", b"{", b'{"model": "gpt-4",}', b"\xff\xfe"])
def test_empty_or_malformed_json_is_a_400_in_openai_wording(raw: bytes) -> None:
    error = rejected(raw)
    assert error.status == 400
    assert error.message.startswith("We could not parse the JSON body of your request.")
    assert error.param is None
    assert error.error_type == "invalid_request_error"


def test_json_error_message_says_where_the_body_broke() -> None:
    assert "column" in rejected(b'{"model": }').message


def test_non_object_body_is_a_400_naming_the_type() -> None:
    error = rejected(b"[1, 2]")
    assert (error.status, error.param, error.code) == (400, None, "invalid_type")
    assert "array" in error.message


@pytest.mark.parametrize(
    ("raw", "param", "code"),
    [
        (
            orjson.dumps({"messages": [{"role": "user", "content": "x"}]}),
            "model",
            "missing_required_parameter",
        ),
        (body(messages=[]), "messages", "empty_array"),
        (body(messages=[{"role": "wizard", "content": "x"}]), "messages[0].role", "invalid_value"),
        (body(messages=[{"role": "user"}]), "messages[0].content", "missing_required_parameter"),
        (body(temperature=2.5), "temperature", "invalid_value"),
        (body(top_p=-0.1), "top_p", "invalid_value"),
        (body(max_tokens=0), "max_tokens", "invalid_value"),
        (body(max_tokens="many"), "max_tokens", "invalid_type"),
        (body(stream="yes"), "stream", "invalid_type"),
    ],
)
def test_field_errors_become_400_with_the_field_named(raw: bytes, param: str, code: str) -> None:
    error = rejected(raw)
    assert (error.status, error.param, error.code) == (400, param, code)


def test_unknown_model_is_a_404_model_not_found() -> None:
    error = rejected(body(model="gpt-9"))
    assert (error.status, error.param, error.code) == (404, "model", "model_not_found")
    assert error.message == "The model 'gpt-9' does not exist or you do not have access to it."


def test_each_fallback_must_be_routable_and_is_named_by_index() -> None:
    error = rejected(body(fallbacks=["claude", "nope"]))
    assert (error.status, error.param, error.code) == (400, "fallbacks[1]", "model_not_found")
    assert "'nope'" in error.message


def test_routable_fallbacks_are_accepted() -> None:
    request = validate_chat_request(body(fallbacks=["claude"]), FakeRouter())
    assert request.fallbacks == ("claude",)


def test_preferred_provider_must_be_configured() -> None:
    error = rejected(body(preferred_provider="azure"))
    assert (error.status, error.param, error.code) == (400, "preferred_provider", "invalid_value")
    assert "'azure'" in error.message
    assert "'anthropic', 'openai'" in error.message


def test_max_tokens_above_the_output_limit_is_rejected() -> None:
    error = rejected(body(max_tokens=4097))
    assert (error.status, error.param, error.code) == (400, "max_tokens", "invalid_value")
    assert "4096" in error.message


def test_max_tokens_at_the_output_limit_is_accepted() -> None:
    assert validate_chat_request(body(max_tokens=4096), FakeRouter()).max_tokens == 4096


def test_max_completion_tokens_is_held_to_the_same_limit() -> None:
    error = rejected(body(max_completion_tokens=5000))
    assert error.param == "max_tokens"


def test_fallback_with_a_larger_output_limit_raises_the_ceiling() -> None:
    request = validate_chat_request(body(max_tokens=8000, fallbacks=["claude"]), FakeRouter())
    assert request.max_tokens == 8000


def test_prompt_over_the_context_window_is_context_length_exceeded() -> None:
    long_text = "x" * (8192 * 4 + 1)  # one estimated token over
    error = rejected(body(messages=[{"role": "user", "content": long_text}]))
    assert (error.status, error.param, error.code) == (
        400,
        "messages",
        "context_length_exceeded",
    )
    assert "8192" in error.message


def test_prompt_exactly_at_the_context_window_is_accepted() -> None:
    text = "x" * (8192 * 4)
    request = validate_chat_request(
        body(messages=[{"role": "user", "content": text}]), FakeRouter()
    )
    assert request.estimated_prompt_tokens() == 8192


def test_stream_true_is_accepted() -> None:
    assert validate_chat_request(body(stream=True), FakeRouter()).stream is True


@pytest.mark.parametrize("mode", ["relay", "buffered"])
def test_stream_mode_is_accepted(mode: str) -> None:
    request = validate_chat_request(body(stream=True, stream_mode=mode), FakeRouter())
    assert request.extra["stream_mode"] == mode


@pytest.mark.parametrize(
    ("mode", "code"), [("eventually", "invalid_value"), (1, "invalid_type"), ("", "invalid_value")]
)
def test_bad_stream_mode_names_the_field(mode: object, code: str) -> None:
    error = rejected(body(stream=True, stream_mode=mode))
    assert (error.status, error.param, error.code) == (400, "stream_mode", code)


def test_stream_false_is_accepted() -> None:
    assert validate_chat_request(body(stream=False), FakeRouter()).stream is False


def test_unknown_model_is_reported_before_streaming() -> None:
    assert rejected(body(model="gpt-9", stream=True)).status == 404


def test_error_body_is_openai_shaped() -> None:
    error = rejected(body(model="gpt-9"))
    assert error.to_body() == {
        "error": {
            "message": "The model 'gpt-9' does not exist or you do not have access to it.",
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_found",
        }
    }
    assert str(error) == error.to_body()["error"]["message"]


def test_context_and_output_errors_have_the_exact_openai_wording() -> None:
    context = rejected(body(messages=[{"role": "user", "content": "x" * (8192 * 4 + 5)}]))
    assert context.message == (
        "This model's maximum context length is 8192 tokens. However, your messages "
        "resulted in about 8194 tokens. Please reduce the length of the messages."
    )
    output = rejected(body(max_tokens=5000))
    assert output.message == (
        "max_tokens is too large: 5000. This model supports at most 4096 completion tokens, "
        "whereas you provided 5000."
    )


def test_the_prompt_estimate_adds_up_every_message() -> None:
    half = "x" * (8192 * 2)
    messages = [
        {"role": "system", "content": half},
        {"role": "user", "content": [{"type": "text", "text": half}]},
    ]
    assert validate_chat_request(body(messages=messages), FakeRouter()).messages[1].text == half
    messages.append({"role": "user", "content": "y"})
    assert rejected(body(messages=messages)).code == "context_length_exceeded"


def test_fallback_with_a_larger_context_window_raises_the_ceiling() -> None:
    long_text = "x" * (8192 * 4 + 1)
    messages = [{"role": "user", "content": long_text}]
    request = validate_chat_request(body(messages=messages, fallbacks=["claude"]), FakeRouter())
    assert request.estimated_prompt_tokens() == 8193


def test_the_largest_limit_among_fallbacks_is_the_one_reported() -> None:
    error = rejected(body(max_tokens=9000, fallbacks=["claude", "gpt-4"]))
    assert "at most 8192 completion tokens" in error.message


def test_an_unroutable_fallback_is_reported_before_the_preferred_provider() -> None:
    error = rejected(body(fallbacks=["nope"], preferred_provider="azure", max_tokens=10**6))
    assert error.param == "fallbacks[0]"


def test_an_unknown_preferred_provider_is_reported_before_the_limits() -> None:
    error = rejected(body(preferred_provider="azure", max_tokens=10**6))
    assert error.param == "preferred_provider"


def test_max_tokens_is_reported_before_the_context_length() -> None:
    error = rejected(body(max_tokens=10**6, messages=[{"role": "user", "content": "x" * 10**6}]))
    assert error.param == "max_tokens"


def test_field_errors_from_later_messages_name_their_index() -> None:
    messages = [{"role": "user", "content": "hi"}, {"role": "user", "content": [{"type": 1}]}]
    error = rejected(body(messages=messages))
    assert (error.status, error.param, error.code) == (
        400,
        "messages[1].content[0].type",
        "invalid_type",
    )
    assert error.message == (
        "Invalid type for 'messages[1].content[0].type': expected a string, "
        "but got integer instead."
    )


def _nested(depth: int) -> bytes:
    """JSON nested ``depth`` arrays deep: orjson reads that far but cannot write it."""
    return b"[" * depth + b'"leaf"' + b"]" * depth


def _chat_with(fields: bytes, message_extra: bytes = b"", content: bytes = b'"hi"') -> bytes:
    message = b'{"role":"user","content":' + content + message_extra + b"}"
    return b'{"model":"gpt-4","messages":[' + message + b"]" + fields + b"}"


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        (b',"metadata":{"deep":' + _nested(300) + b"}", "metadata"),
        (
            b',"tools":[{"type":"function","function":{"name":"f","parameters":{"x":'
            + _nested(300)
            + b"}}}]",
            "tools",
        ),
    ],
)
def test_values_nested_deeper_than_we_can_send_are_a_400_naming_the_field(
    fields: bytes, param: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_chat_request(_chat_with(fields), FakeRouter())
    assert (caught.value.status, caught.value.param) == (400, param)
    assert caught.value.code == "nesting_too_deep"


def test_deep_nesting_in_message_extras_and_content_parts_is_named_too() -> None:
    deep = _nested(300)
    with pytest.raises(ValidationError) as caught:
        validate_chat_request(_chat_with(b"", message_extra=b',"x":' + deep), FakeRouter())
    assert caught.value.param == "messages[0].x"
    with pytest.raises(ValidationError) as caught:
        validate_chat_request(_chat_with(b"", content=b"[" + deep + b"]"), FakeRouter())
    assert caught.value.param is not None
    assert caught.value.param.startswith("messages[0].content")


def test_ordinary_nesting_passes() -> None:
    validate_chat_request(_chat_with(b',"metadata":{"a":' + _nested(50) + b"}"), FakeRouter())


@pytest.mark.parametrize(
    "fields",
    [
        {"model": "m" * 5000},
        {"preferred_provider": "p" * 5000},
        {"stream_mode": "s" * 5000},
        {"messages": [{"role": "r" * 5000, "content": "hi"}]},
        {"temperature": 1e300},
    ],
)
def test_a_rejected_value_is_echoed_at_most_about_200_characters(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_chat_request(body(**fields), FakeRouter())
    assert len(caught.value.message) < 400
    assert caught.value.param is None or len(caught.value.param) < 260
