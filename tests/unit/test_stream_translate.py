"""Provider stream events to our vocabulary, per wire format."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from orchestrator.answers import (
    DONE,
    ChoiceDelta,
    Finish,
    Malformed,
    StreamEvent,
    StreamTranslator,
    TextDelta,
    UpstreamError,
    UsageReport,
)
from orchestrator.decision import OutcomeKind
from orchestrator.providers.anthropic_stream import AnthropicStreamTranslator
from orchestrator.providers.openai_stream import OpenAIStreamTranslator
from orchestrator.providers.registry import adapter_for
from orchestrator.streaming.sse import ServerSentEvent
from shared.models import ChatMessage, ChatRequest, Usage

PLAIN = ChatRequest("m", (ChatMessage("user", "hi"),))


def run(translator: StreamTranslator, *events: tuple[str | None, Any]) -> list[StreamEvent]:
    out: list[StreamEvent] = []
    for name, data in events:
        raw = data if isinstance(data, bytes) else orjson.dumps(data)
        translator.translate(ServerSentEvent(name, raw), out)
    return out


def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [choice], **extra}


def test_openai_content_finish_usage_and_done() -> None:
    translator = OpenAIStreamTranslator()
    events = run(
        translator,
        (None, chunk({"role": "assistant", "content": ""})),
        (None, chunk({"content": "Hi"})),
        (None, chunk({}, "length")),
        (
            None,
            {
                "id": "chatcmpl-1",
                "choices": [],
                "usage": {"prompt_tokens": 2, "completion_tokens": 1},
            },
        ),
        (None, b"[DONE]"),
    )
    assert events == [TextDelta("Hi"), Finish("length"), UsageReport(Usage(2, 1)), DONE]
    assert translator.upstream_id == "chatcmpl-1"


def test_openai_refusal_streams_in_its_own_field() -> None:
    events = run(OpenAIStreamTranslator(), (None, chunk({"refusal": "No."})))
    assert events == [ChoiceDelta(0, {"refusal": "No."})]


def test_openai_error_event_keeps_the_kind_its_type_names() -> None:
    error = {"error": {"message": "busy", "type": "server_error", "code": "rate_limit_exceeded"}}
    [event] = run(OpenAIStreamTranslator(), (None, error))
    assert event == UpstreamError(OutcomeKind.RATE_LIMITED, "busy", "server_error")


@pytest.mark.parametrize(
    "data",
    [b'{"choices": [{"del', b"[1, 2]", orjson.dumps({"id": "x"})],
    ids=["truncated-json", "not-an-object", "no-choices"],
)
def test_openai_broken_events_are_malformed(data: bytes) -> None:
    [event] = run(OpenAIStreamTranslator(), (None, data))
    assert isinstance(event, Malformed)


def test_openai_bad_usage_is_malformed_not_fatal() -> None:
    [event] = run(OpenAIStreamTranslator(), (None, {"choices": [], "usage": {"prompt_tokens": -1}}))
    assert isinstance(event, Malformed)


def anthropic_stream() -> list[tuple[str | None, Any]]:
    message = {"id": "msg_1", "type": "message", "usage": {"input_tokens": 7, "output_tokens": 1}}
    return [
        ("message_start", {"type": "message_start", "message": message}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("ping", {"type": "ping"}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "text_delta", "text": "Hello"}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "max_tokens"},
                           "usage": {"output_tokens": 3}}),
        ("message_stop", {"type": "message_stop"}),
    ]  # fmt: skip


def test_anthropic_events_translate_with_usage_before_the_finish() -> None:
    translator = AnthropicStreamTranslator()
    events = run(translator, *anthropic_stream())
    assert events == [TextDelta("Hello"), UsageReport(Usage(7, 3)), Finish("length"), DONE]
    assert translator.upstream_id == "msg_1"


@pytest.mark.parametrize(
    ("error_type", "kind"),
    [
        ("overloaded_error", OutcomeKind.OVERLOADED),
        ("rate_limit_error", OutcomeKind.RATE_LIMITED),
        ("api_error", OutcomeKind.SERVER_ERROR),
        ("invalid_request_error", OutcomeKind.CLIENT_ERROR),
        ("brand_new_error", OutcomeKind.SERVER_ERROR),
    ],
)
def test_anthropic_error_event_maps_its_type_to_an_outcome_kind(
    error_type: str, kind: OutcomeKind
) -> None:
    data = {"type": "error", "error": {"type": error_type, "message": "nope"}}
    assert run(AnthropicStreamTranslator(), ("error", data)) == [
        UpstreamError(kind, "nope", error_type)
    ]


def test_anthropic_truncated_event_is_malformed() -> None:
    [event] = run(
        AnthropicStreamTranslator(),
        ("content_block_delta", b'{"type": "content_block_delta", "ind'),
    )
    assert isinstance(event, Malformed)


def test_anthropic_signatures_and_unknown_events_are_ignored() -> None:
    events = run(
        AnthropicStreamTranslator(),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "signature_delta", "signature": "x"}}),
        ("future_event", {"type": "future_event"}),
    )  # fmt: skip
    assert events == []


def test_anthropic_tool_input_outside_a_tool_block_is_malformed() -> None:
    [event] = run(
        AnthropicStreamTranslator(),
        ("content_block_delta", {"type": "content_block_delta", "index": 3,
                                 "delta": {"type": "input_json_delta", "partial_json": "{"}}),
    )  # fmt: skip
    assert isinstance(event, Malformed)


def test_usage_follows_the_finish_only_for_openai() -> None:
    assert adapter_for("openai").stream_translator(PLAIN).usage_follows_finish is True
    assert adapter_for("anthropic").stream_translator(PLAIN).usage_follows_finish is False


def test_unknown_wire_format_is_refused() -> None:
    with pytest.raises(ValueError, match="gemini"):
        adapter_for("gemini")
