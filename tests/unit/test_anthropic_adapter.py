"""The Anthropic Messages wire format both ways, and how its error answers are classified."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from orchestrator.answers import Completion
from orchestrator.decision import OutcomeKind
from orchestrator.providers.anthropic import ANTHROPIC_ADAPTER
from orchestrator.providers.base import MalformedResponse
from orchestrator.providers.registry import adapter_for
from shared.chat_parsing import parse_chat_request
from shared.models import ChatMessage, ChatRequest, Usage, anthropic_error_body
from tests.unit.adapter_support import deployment

DEPLOYMENT = deployment("anthropic", model="claude-3-5-sonnet-20241022")


def parsed(body: bytes) -> Completion:
    """The adapter's parse of ``body`` as the answer to a plain text request."""
    return ANTHROPIC_ADAPTER.parse_success(body, ChatRequest("m", (ChatMessage("user", "hi"),)))


def chat(messages: list[dict[str, Any]] | None = None, **fields: Any) -> ChatRequest:
    body: dict[str, Any] = {
        "model": "gpt-4",
        "messages": messages or [{"role": "user", "content": "hi"}],
    }
    body.update(fields)
    return parse_chat_request(body)


def sent_body(request: ChatRequest, dep: Any = DEPLOYMENT) -> dict[str, Any]:
    decoded: dict[str, Any] = orjson.loads(
        ANTHROPIC_ADAPTER.build_request(request, dep, "req_1", 1).body
    )
    return decoded


def text(value: str) -> dict[str, str]:
    return {"type": "text", "text": value}


def message_body(**overrides: Any) -> bytes:
    body: dict[str, Any] = {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-3-5-sonnet-20241022",
        "content": [text("Hello!")],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 11, "output_tokens": 4},
    }
    body.update(overrides)
    return orjson.dumps(body)


def anthropic_error(message: str, error_type: str = "invalid_request_error") -> bytes:
    return orjson.dumps(anthropic_error_body(message, error_type))


def test_adapter_for_anthropic_is_one_shared_instance() -> None:
    assert adapter_for("anthropic") is ANTHROPIC_ADAPTER
    assert ANTHROPIC_ADAPTER.wire_format == "anthropic"


def test_request_goes_to_messages_with_key_version_and_trace_headers() -> None:
    upstream = ANTHROPIC_ADAPTER.build_request(chat(), DEPLOYMENT, "req_xyz", 2)
    assert upstream.url == "http://127.0.0.1:8001/v1/messages"
    assert upstream.headers["x-api-key"] == "sk-test"
    assert upstream.headers["anthropic-version"] == "2023-06-01"
    assert upstream.headers["X-Request-ID"] == "req_xyz"
    assert upstream.headers["X-Attempt-Number"] == "2"
    assert "Authorization" not in upstream.headers


def test_no_key_means_no_api_key_header() -> None:
    upstream = ANTHROPIC_ADAPTER.build_request(
        chat(), deployment("anthropic", api_key=None), "r", 1
    )
    assert "x-api-key" not in upstream.headers


def test_model_is_the_deployment_model() -> None:
    assert sent_body(chat())["model"] == "claude-3-5-sonnet-20241022"


def test_system_and_developer_messages_join_into_top_level_system() -> None:
    sent = sent_body(
        chat(
            [
                {"role": "system", "content": "Be brief."},
                {"role": "developer", "content": "Answer in French."},
                {"role": "user", "content": "hi"},
            ]
        )
    )
    assert sent["system"] == "Be brief.\n\nAnswer in French."
    assert sent["messages"] == [{"role": "user", "content": [text("hi")]}]


def test_without_system_messages_no_system_field_is_sent() -> None:
    assert "system" not in sent_body(chat())


def test_system_only_conversation_becomes_the_user_turn() -> None:
    sent = sent_body(chat([{"role": "system", "content": "Say hi."}]))
    assert "system" not in sent
    assert sent["messages"] == [{"role": "user", "content": [text("Say hi.")]}]


def test_consecutive_same_role_turns_are_merged() -> None:
    sent = sent_body(
        chat(
            [
                {"role": "user", "content": "one"},
                {"role": "user", "content": "two"},
                {"role": "assistant", "content": "ok"},
                {"role": "assistant", "content": "more"},
            ]
        )
    )
    assert sent["messages"] == [
        {"role": "user", "content": [text("one"), text("two")]},
        {"role": "assistant", "content": [text("ok"), text("more")]},
    ]


def test_without_declared_tools_tool_calls_and_results_are_told_as_text() -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    sent = sent_body(
        chat(
            [
                {"role": "user", "content": "weather?"},
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "content": "22C", "tool_call_id": "call_1"},
                {"role": "function", "content": "sunny", "name": "sky"},
            ]
        )
    )
    assert sent["messages"] == [
        {"role": "user", "content": [text("weather?")]},
        {"role": "assistant", "content": [text("Called tool f with arguments {}")]},
        {
            "role": "user",
            "content": [text("Tool result (call_1): 22C"), text("Tool result (sky): sunny")],
        },
    ]


def test_content_parts_become_blocks_and_empty_text_is_dropped() -> None:
    parts = [
        text("look"),
        text(""),
        {"type": "image_url", "image_url": {"url": "https://example.test/cat.png"}},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0K"}},
        {"type": "input_audio", "input_audio": {"data": "...", "format": "wav"}},
    ]
    sent = sent_body(chat([{"role": "user", "content": parts}, {"role": "user", "content": ""}]))
    assert sent["messages"] == [
        {
            "role": "user",
            "content": [
                text("look"),
                {"type": "image", "source": {"type": "url", "url": "https://example.test/cat.png"}},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0K"},
                },
            ],
        }
    ]


def test_absent_max_tokens_defaults_to_the_deployment_limit_capped_at_4096() -> None:
    assert sent_body(chat())["max_tokens"] == 4096
    small = deployment("anthropic", max_output_tokens=1024)
    assert sent_body(chat(), small)["max_tokens"] == 1024


def test_given_max_tokens_is_sent_capped_at_the_deployment_limit() -> None:
    assert sent_body(chat(max_tokens=200))["max_tokens"] == 200
    small = deployment("anthropic", max_output_tokens=1024)
    assert sent_body(chat(max_tokens=5000), small)["max_tokens"] == 1024


@pytest.mark.parametrize(("given", "sent"), [(0.0, 0.0), (0.7, 0.7), (1.0, 1.0), (1.8, 1.0)])
def test_temperature_is_clamped_into_anthropic_range(given: float, sent: float) -> None:
    assert sent_body(chat(temperature=given))["temperature"] == sent


def test_stop_becomes_stop_sequences_and_top_p_passes() -> None:
    sent = sent_body(chat(stop=["END", "STOP"], top_p=0.5))
    assert sent["stop_sequences"] == ["END", "STOP"]
    assert sent["top_p"] == 0.5
    assert "stop" not in sent


def test_orchestrator_only_and_unknown_fields_are_not_forwarded() -> None:
    sent = sent_body(chat(preferred_provider="anthropic", fallbacks=["x"], seed=1))
    assert set(sent) == {"model", "max_tokens", "messages"}


def test_success_joins_text_blocks_and_maps_usage() -> None:
    body = message_body(
        content=[text("Hel"), {"type": "tool_use", "id": "t", "name": "f", "input": {}}, text("lo")]
    )
    completion = parsed(body)
    assert completion.content == "Hello"
    assert completion.finish_reason == "stop"
    assert completion.usage == Usage(prompt_tokens=11, completion_tokens=4)
    assert completion.upstream_id == "msg_01"


def test_cached_input_tokens_count_as_prompt_tokens() -> None:
    usage = {
        "input_tokens": 10,
        "output_tokens": 2,
        "cache_creation_input_tokens": 5,
        "cache_read_input_tokens": 100,
    }
    assert parsed(message_body(usage=usage)).usage == Usage(115, 2)


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("something_new", "stop"),
        (None, "stop"),
    ],
)
def test_stop_reason_maps_to_finish_reason(stop_reason: str | None, finish_reason: str) -> None:
    body = message_body(stop_reason=stop_reason)
    assert parsed(body).finish_reason == finish_reason


@pytest.mark.parametrize(
    "body",
    [
        b"<html>",
        b'"message"',
        message_body(type="error"),
        message_body(content="Hello"),
        message_body(usage=None),
        message_body(usage={"input_tokens": 1}),
        message_body(usage={"input_tokens": 1, "output_tokens": 1.5}),
    ],
    ids=[
        "not-json",
        "not-object",
        "wrong-type",
        "content-not-array",
        "no-usage",
        "usage-missing-output",
        "usage-not-int",
    ],
)
def test_anything_but_a_message_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedResponse):
        parsed(body)


def test_overloaded_529_is_overloaded_with_the_provider_message() -> None:
    outcome = ANTHROPIC_ADAPTER.classify_error(
        529, {}, anthropic_error("Overloaded", "overloaded_error")
    )
    assert outcome.kind is OutcomeKind.OVERLOADED
    assert outcome.message == "Overloaded"
    assert outcome.error_type == "overloaded_error"


def test_rate_limit_reads_retry_after_seconds() -> None:
    outcome = ANTHROPIC_ADAPTER.classify_error(
        429, {"retry-after": "12"}, anthropic_error("Rate limited", "rate_limit_error")
    )
    assert (outcome.kind, outcome.retry_after_s) == (OutcomeKind.RATE_LIMITED, 12.0)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (500, OutcomeKind.SERVER_ERROR),
        (503, OutcomeKind.SERVER_ERROR),
        (408, OutcomeKind.TIMEOUT),
        (401, OutcomeKind.AUTH_ERROR),
        (403, OutcomeKind.AUTH_ERROR),
        (404, OutcomeKind.CLIENT_ERROR),
        (413, OutcomeKind.CLIENT_ERROR),
    ],
)
def test_status_classification(status: int, kind: OutcomeKind) -> None:
    assert ANTHROPIC_ADAPTER.classify_error(status, {}, anthropic_error("x")).kind is kind


def test_prompt_too_long_is_context_length() -> None:
    body = anthropic_error("prompt is too long: 210000 tokens > 200000 maximum")
    assert ANTHROPIC_ADAPTER.classify_error(400, {}, body).kind is OutcomeKind.CONTEXT_LENGTH


def test_content_filtering_policy_is_content_policy() -> None:
    body = anthropic_error("Output blocked by content filtering policy")
    outcome = ANTHROPIC_ADAPTER.classify_error(400, {}, body)
    assert outcome.kind is OutcomeKind.CONTENT_POLICY
    assert outcome.message == "Output blocked by content filtering policy"


def test_other_400_stays_a_client_error() -> None:
    body = anthropic_error("messages: roles must alternate")
    outcome = ANTHROPIC_ADAPTER.classify_error(400, {}, body)
    assert (outcome.kind, outcome.error_type) == (
        OutcomeKind.CLIENT_ERROR,
        "invalid_request_error",
    )


def test_non_json_error_body_is_tolerated() -> None:
    outcome = ANTHROPIC_ADAPTER.classify_error(502, {}, b"Bad Gateway")
    assert (outcome.kind, outcome.message) == (OutcomeKind.SERVER_ERROR, "Bad Gateway")
