"""The OpenAI wire format both ways, and how its error answers are classified."""

from __future__ import annotations

from email.utils import formatdate
from typing import Any

import orjson
import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from orchestrator.answers import Completion
from orchestrator.decision import Outcome, OutcomeKind
from orchestrator.providers.base import MalformedResponse
from orchestrator.providers.openai import OPENAI_ADAPTER, OpenAIAdapter
from orchestrator.providers.registry import adapter_for
from shared.chat_parsing import parse_chat_request
from shared.models import ChatMessage, ChatRequest, Usage, openai_error_body
from tests.unit.adapter_support import deployment

DEPLOYMENT = deployment("openai", model="gpt-4o-2024")


def parsed(body: bytes) -> Completion:
    """The adapter's parse of ``body`` as the answer to a plain text request."""
    return OPENAI_ADAPTER.parse_success(body, ChatRequest("m", (ChatMessage("user", "hi"),)))


def chat(**fields: Any) -> ChatRequest:
    body: dict[str, Any] = {"model": "gpt-4", "messages": [{"role": "user", "content": "hi"}]}
    body.update(fields)
    return parse_chat_request(body)


def sent_body(request: ChatRequest, **kwargs: Any) -> dict[str, Any]:
    upstream = OPENAI_ADAPTER.build_request(request, kwargs.get("dep", DEPLOYMENT), "req_1", 1)
    decoded: dict[str, Any] = orjson.loads(upstream.body)
    return decoded


def completion_body(**overrides: Any) -> bytes:
    body: dict[str, Any] = {
        "id": "chatcmpl-123",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-2024",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello!"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12},
    }
    body.update(overrides)
    return orjson.dumps(body)


def error(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Outcome:
    return OPENAI_ADAPTER.classify_error(status, headers or {}, body)


def test_adapter_for_openai_is_one_shared_instance() -> None:
    assert adapter_for("openai") is OPENAI_ADAPTER
    assert adapter_for("openai").wire_format == "openai"


def test_adapter_for_an_unknown_format_names_it() -> None:
    with pytest.raises(ValueError, match="'gemini'"):
        adapter_for("gemini")


def test_request_goes_to_chat_completions_under_the_base_url() -> None:
    dep = deployment("openai", base_url="http://127.0.0.1:9000/")
    upstream = OPENAI_ADAPTER.build_request(chat(), dep, "req_1", 1)
    assert upstream.url == "http://127.0.0.1:9000/v1/chat/completions"


def test_headers_carry_bearer_key_request_id_and_attempt_number() -> None:
    upstream = OPENAI_ADAPTER.build_request(chat(), DEPLOYMENT, "req_abc", 3)
    assert upstream.headers["Authorization"] == "Bearer sk-test"
    assert upstream.headers["Content-Type"] == "application/json"
    assert upstream.headers["X-Request-ID"] == "req_abc"
    assert upstream.headers["X-Attempt-Number"] == "3"


def test_no_key_means_no_authorization_header() -> None:
    upstream = OPENAI_ADAPTER.build_request(chat(), deployment("openai", api_key=None), "r", 1)
    assert "Authorization" not in upstream.headers


def test_model_is_replaced_by_the_deployment_model() -> None:
    assert sent_body(chat())["model"] == "gpt-4o-2024"


def test_messages_travel_with_name_and_extra_fields() -> None:
    tool_call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi", "name": "ann"},
        {"role": "assistant", "content": None, "tool_calls": [tool_call]},
        {"role": "tool", "content": "42", "tool_call_id": "call_1"},
    ]
    assert sent_body(chat(messages=messages))["messages"] == messages


def test_sampling_fields_are_forwarded_when_set() -> None:
    sent = sent_body(
        chat(
            temperature=1.5,
            top_p=0.9,
            max_tokens=100,
            stop="END",
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert sent["temperature"] == 1.5
    assert sent["top_p"] == 0.9
    assert sent["max_tokens"] == 100
    assert sent["stop"] == ["END"]
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}


def test_unset_fields_are_not_sent() -> None:
    assert set(sent_body(chat())) == {"model", "messages"}


def test_max_tokens_is_capped_at_the_deployment_output_limit() -> None:
    small = deployment("openai", max_output_tokens=512)
    assert sent_body(chat(max_tokens=4000), dep=small)["max_tokens"] == 512


def test_unknown_fields_pass_through() -> None:
    sent = sent_body(chat(seed=7, response_format={"type": "json_object"}))
    assert sent["seed"] == 7
    assert sent["response_format"] == {"type": "json_object"}


def test_orchestrator_only_fields_are_never_forwarded() -> None:
    sent = sent_body(chat(preferred_provider="openai", fallbacks=["claude"]))
    assert "preferred_provider" not in sent
    assert "fallbacks" not in sent


def test_success_is_parsed_into_a_completion() -> None:
    completion = parsed(completion_body())
    assert completion.content == "Hello!"
    assert completion.finish_reason == "stop"
    assert completion.usage == Usage(prompt_tokens=9, completion_tokens=3)
    assert completion.upstream_id == "chatcmpl-123"


def test_length_finish_reason_is_kept() -> None:
    choice = {
        "index": 0,
        "message": {"role": "assistant", "content": "x"},
        "finish_reason": "length",
    }
    assert parsed(completion_body(choices=[choice])).finish_reason == "length"


def test_tool_call_answer_with_null_content_is_empty_text() -> None:
    message: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": []}
    choice = {"index": 0, "message": message, "finish_reason": "tool_calls"}
    completion = parsed(completion_body(choices=[choice]))
    assert (completion.content, completion.finish_reason) == ("", "tool_calls")


def test_missing_usage_counts_zero_tokens() -> None:
    raw = orjson.loads(completion_body())
    del raw["usage"]
    assert parsed(orjson.dumps(raw)).usage == Usage(0, 0)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        completion_body(object="chat.completion.chunk"),
        completion_body(choices=[]),
        completion_body(choices=["x"]),
        completion_body(choices=[{"message": "x", "finish_reason": "stop"}]),
        completion_body(choices=[{"message": {"content": 5}, "finish_reason": "stop"}]),
        completion_body(usage={"prompt_tokens": "9", "completion_tokens": 3}),
        completion_body(usage={"prompt_tokens": -1, "completion_tokens": 3}),
    ],
    ids=[
        "not-json",
        "not-object",
        "chunk",
        "no-choices",
        "choice-not-object",
        "message-not-object",
        "content-not-string",
        "usage-string",
        "usage-negative",
    ],
)
def test_anything_but_a_chat_completion_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedResponse):
        parsed(body)


def openai_error(message: str, error_type: str, code: str | None = None) -> bytes:
    return orjson.dumps(openai_error_body(message, error_type, None, code))


def test_429_is_rate_limited_with_retry_after_ms() -> None:
    outcome = error(
        429,
        openai_error("Rate limit reached", "requests", "rate_limit_exceeded"),
        {"retry-after-ms": "800", "Retry-After": "1"},
    )
    assert outcome.kind is OutcomeKind.RATE_LIMITED
    assert outcome.status == 429
    assert outcome.retry_after_s == 0.8
    assert outcome.message == "Rate limit reached"
    assert outcome.error_type == "requests"


def test_429_retry_after_http_date_uses_the_injected_clock() -> None:
    adapter = OpenAIAdapter(now=lambda: 1_700_000_000.0)
    headers = {"Retry-After": formatdate(1_700_000_012.0, usegmt=True)}
    assert adapter.classify_error(429, headers, b"").retry_after_s == pytest.approx(12.0)


def test_429_without_retry_after_has_none() -> None:
    assert error(429).retry_after_s is None


def test_retry_after_is_read_from_case_insensitive_aiohttp_headers() -> None:
    headers = CIMultiDictProxy(CIMultiDict({"RETRY-AFTER": "4"}))
    assert OPENAI_ADAPTER.classify_error(429, headers, b"").retry_after_s == 4.0


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (500, OutcomeKind.SERVER_ERROR),
        (502, OutcomeKind.SERVER_ERROR),
        (503, OutcomeKind.SERVER_ERROR),
        (504, OutcomeKind.SERVER_ERROR),
        (520, OutcomeKind.SERVER_ERROR),
        (529, OutcomeKind.OVERLOADED),
        (408, OutcomeKind.TIMEOUT),
        (401, OutcomeKind.AUTH_ERROR),
        (403, OutcomeKind.AUTH_ERROR),
        (400, OutcomeKind.CLIENT_ERROR),
        (404, OutcomeKind.CLIENT_ERROR),
        (413, OutcomeKind.CLIENT_ERROR),
        (422, OutcomeKind.CLIENT_ERROR),
        (302, OutcomeKind.MALFORMED_RESPONSE),
    ],
)
def test_status_classification(status: int, kind: OutcomeKind) -> None:
    outcome = error(status, openai_error("boom", "server_error"))
    assert outcome.kind is kind
    assert outcome.status == status


def test_context_length_code_is_context_length() -> None:
    body = openai_error(
        "This model's maximum context length is 8192 tokens.",
        "invalid_request_error",
        "context_length_exceeded",
    )
    assert error(400, body).kind is OutcomeKind.CONTEXT_LENGTH


@pytest.mark.parametrize("code", ["content_policy_violation", "content_filter"])
def test_content_policy_codes_are_content_policy(code: str) -> None:
    outcome = error(
        400, openai_error("Rejected by the safety system.", "invalid_request_error", code)
    )
    assert outcome.kind is OutcomeKind.CONTENT_POLICY
    assert outcome.message == "Rejected by the safety system."


def test_other_400_codes_stay_client_errors() -> None:
    body = openai_error("Invalid 'messages'", "invalid_request_error", "invalid_value")
    assert error(400, body).kind is OutcomeKind.CLIENT_ERROR


def test_non_json_error_body_keeps_a_short_message() -> None:
    page = b"<html>" + b"x" * 1000 + b"</html>"
    outcome = error(502, page)
    assert outcome.kind is OutcomeKind.SERVER_ERROR
    assert outcome.message is not None
    assert outcome.message.startswith("<html>")
    assert len(outcome.message) == 200
    assert outcome.error_type is None


def test_empty_error_body_has_no_message() -> None:
    outcome = error(503, b"")
    assert (outcome.kind, outcome.message, outcome.error_type) == (
        OutcomeKind.SERVER_ERROR,
        None,
        None,
    )


def test_error_as_plain_string_is_the_message() -> None:
    assert error(500, b'{"error": "upstream exploded"}').message == "upstream exploded"


def test_error_type_falls_back_to_the_code() -> None:
    body = orjson.dumps({"error": {"message": "m", "code": "rate_limit_exceeded"}})
    assert error(429, body).error_type == "rate_limit_exceeded"
