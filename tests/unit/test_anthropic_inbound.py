"""The Messages API's side of translation: events, answers, statuses, and what rides along."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from orchestrator.answers import ChoiceDelta, Completion, Finish
from orchestrator.http.anthropic_events import AnthropicEventEncoder
from orchestrator.http.anthropic_render import (
    anthropic_error_body,
    caller_status,
    message_body,
    usage_json,
)
from orchestrator.http.messages import estimated_input_tokens
from orchestrator.providers.anthropic import ANTHROPIC_ADAPTER
from orchestrator.providers.anthropic_answers import parse_message
from orchestrator.providers.openai import OPENAI_ADAPTER
from shared.anthropic_parsing import parse_messages_request
from shared.models import FieldError, Usage
from tests.unit.adapter_support import deployment


def events(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for chunk in raw.decode().split("\n\n"):
        if not chunk:
            continue
        head, data = chunk.split("\n", 1)
        out.append((head.removeprefix("event: "), orjson.loads(data.removeprefix("data: "))))
    return out


def call_fragment(index: int, arguments: str, *, first: bool = False) -> ChoiceDelta:
    function: dict[str, Any] = {"arguments": arguments}
    call: dict[str, Any] = {"index": index, "function": function}
    if first:
        call["id"] = f"call_{index}"
        function["name"] = f"tool_{index}"
    return ChoiceDelta(0, {"tool_calls": [call]})


# --- stream events ----------------------------------------------------------------------------


def test_text_then_two_tool_calls_become_three_blocks_in_order() -> None:
    encoder = AnthropicEventEncoder("msg_1", "gpt-4o", 12)
    raw = b"".join(
        [
            encoder.delta("Let me "),
            encoder.delta("check."),
            encoder.choice_delta(call_fragment(0, "", first=True)),
            encoder.choice_delta(call_fragment(0, '{"city":')),
            encoder.choice_delta(call_fragment(0, '"Paris"}')),
            encoder.choice_delta(call_fragment(1, '{"q":1}', first=True)),
            encoder.ending("tool_calls", Usage(30, 9), {"request_id": "r1"}),
        ]
    )
    seen = events(raw)
    names = [name for name, _ in seen]
    assert names == [
        "message_start", "ping",
        "content_block_start", "content_block_delta", "content_block_delta",
        "content_block_stop",
        "content_block_start", "content_block_delta", "content_block_delta",
        "content_block_stop",
        "content_block_start", "content_block_delta", "content_block_stop",
        "message_delta", "message_stop",
    ]  # fmt: skip
    starts = [data for name, data in seen if name == "content_block_start"]
    assert [(s["index"], s["content_block"]["type"]) for s in starts] == [
        (0, "text"),
        (1, "tool_use"),
        (2, "tool_use"),
    ]
    assert starts[1]["content_block"] == {
        "type": "tool_use", "id": "call_0", "name": "tool_0", "input": {}
    }  # fmt: skip
    fragments = [
        d["delta"]["partial_json"]
        for n, d in seen
        if n == "content_block_delta" and d["delta"]["type"] == "input_json_delta"
    ]
    assert "".join(fragments[:2]) == '{"city":"Paris"}'
    delta = seen[-2][1]
    assert delta["delta"]["stop_reason"] == "tool_use"
    assert delta["usage"]["output_tokens"] == 9
    assert delta["usage"]["input_tokens"] == 30
    assert delta["request_id"] == "r1"  # our fields beside Anthropic's
    assert seen[0][1]["message"]["usage"]["input_tokens"] == 12  # the estimate, until the end


def test_reasoning_is_a_thinking_block_and_other_choices_are_left_out() -> None:
    encoder = AnthropicEventEncoder("msg_1", "m", 1)
    raw = (
        encoder.choice_delta(ChoiceDelta(0, {"reasoning_content": "hmm"}))
        + encoder.choice_delta(ChoiceDelta(1, {"content": "other choice"}))
        + encoder.choice_finish(Finish("stop", 1))
        + encoder.delta("answer")
        + encoder.ending("stop", None, {})
    )
    seen = events(raw)
    blocks = [d["content_block"]["type"] for n, d in seen if n == "content_block_start"]
    assert blocks == ["thinking", "text"]
    assert b"other choice" not in raw
    assert seen[-2][1]["delta"]["stop_reason"] == "end_turn"


def test_a_broken_stream_ends_with_an_error_event_and_no_message_stop() -> None:
    encoder = AnthropicEventEncoder("msg_1", "m", 1)
    raw = encoder.delta("half") + encoder.error(
        "cut", "stream_interrupted", "r9", {"provider": "p"}
    )
    name, data = events(raw)[-1]
    assert name == "error"
    assert data["error"]["type"] == "api_error"
    assert data["request_id"] == "r9"
    assert b"message_stop" not in raw


# --- answers ----------------------------------------------------------------------------------


def test_an_openai_answer_with_tool_calls_becomes_tool_use_blocks() -> None:
    body = {
        "model": "gpt-4o",
        "choices": [
            {
                "message": {
                    "content": "Checking.",
                    "tool_calls": [
                        {"id": "call_a", "function": {"name": "f", "arguments": '{"x": 1}'}},
                        {"id": "call_b", "function": {"name": "g", "arguments": "not json"}},
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
    }
    usage = Usage(100, 7, {"prompt_tokens_details": {"cached_tokens": 40}})
    completion = Completion("Checking.", "tool_calls", usage, "chatcmpl-1", body)
    message = message_body(completion, "deployment-model", "msg_x")
    assert message["content"] == [
        {"type": "text", "text": "Checking."},
        {"type": "tool_use", "id": "call_a", "name": "f", "input": {"x": 1}},
        {"type": "tool_use", "id": "call_b", "name": "g", "input": {"_arguments": "not json"}},
    ]
    assert (message["stop_reason"], message["model"]) == ("tool_use", "gpt-4o")
    # Anthropic counts cached tokens apart from the prompt; OpenAI inside it.
    assert message["usage"]["input_tokens"] == 60
    assert message["usage"]["cache_read_input_tokens"] == 40


@pytest.mark.parametrize(
    ("finish", "stop"),
    [("stop", "end_turn"), ("length", "max_tokens"), ("content_filter", "refusal"),
     ("something_new", "end_turn")],
)  # fmt: skip
def test_finish_reasons_map_to_stop_reasons(finish: str, stop: str) -> None:
    completion = Completion("x", finish, Usage(1, 1), None, {"choices": [{"message": {}}]})
    assert message_body(completion, "m", "msg")["stop_reason"] == stop


def test_an_anthropic_deployment_s_own_message_goes_out_whole() -> None:
    native = {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude",
        "content": [
            {"type": "thinking", "thinking": "t", "signature": "sig=="},
            {"type": "text", "text": "hi", "citations": [{"type": "char_location"}]},
        ],
        "stop_reason": "stop_sequence", "stop_sequence": "\n\nHuman:",
        "usage": {"input_tokens": 5, "output_tokens": 1, "cache_creation_input_tokens": 2},
    }  # fmt: skip
    completion = parse_message(orjson.dumps(native), json_tool=None)
    assert message_body(completion, "claude", "ignored") == native


def test_usage_without_counts_is_zero_not_missing() -> None:
    assert usage_json(None) == {"input_tokens": 0, "output_tokens": 0}


# --- statuses and errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ours", "code", "theirs", "kind"),
    [
        (502, "upstream_failed", 500, "api_error"),
        (503, "all_breakers_open", 529, "overloaded_error"),
        (503, "upstream_rate_limited", 429, "rate_limit_error"),
        (504, "deadline_exceeded", 504, "timeout_error"),
        (400, "invalid_value", 400, "invalid_request_error"),
        (404, "model_not_found", 404, "not_found_error"),
        (413, "request_too_large", 413, "request_too_large"),
    ],
)
def test_our_failures_answer_with_anthropic_s_statuses(
    ours: int, code: str, theirs: int, kind: str
) -> None:
    status = caller_status(ours, code)
    assert status == theirs
    assert anthropic_error_body(status, "m", code=code)["error"]["type"] == kind


# --- what rides along -------------------------------------------------------------------------


def test_the_beta_header_and_anthropic_fields_reach_anthropic_deployments_only() -> None:
    body = {"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}],
            "top_k": 5, "thinking": {"type": "enabled", "budget_tokens": 1024}}  # fmt: skip
    request = parse_messages_request(body, beta="interleaved-thinking-2025-05-14")
    to_anthropic = ANTHROPIC_ADAPTER.build_request(request, deployment("anthropic"), "r", 1)
    to_openai = OPENAI_ADAPTER.build_request(request, deployment("openai"), "r", 1)
    assert to_anthropic.headers["anthropic-beta"] == "interleaved-thinking-2025-05-14"
    assert orjson.loads(to_anthropic.body)["top_k"] == 5
    assert "anthropic-beta" not in to_openai.headers
    sent = orjson.loads(to_openai.body)
    assert "top_k" not in sent
    assert "thinking" not in sent


def test_count_tokens_counts_tools_and_images_as_well_as_text() -> None:
    text = {"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "hi"}]}
    image = {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}
    pictured = {**text, "messages": [{"role": "user", "content": [image]}]}
    tool = {"name": "f", "input_schema": {"type": "object", "properties": {"a": {}}}}
    tooled = {**text, "tools": [tool]}
    plain = estimated_input_tokens(parse_messages_request(text))
    assert estimated_input_tokens(parse_messages_request(pictured)) > plain + 1000
    assert estimated_input_tokens(parse_messages_request(tooled)) > plain


@pytest.mark.parametrize(
    ("tools", "param"),
    [
        ([{}], "tools.0.name"),
        ([{"name": 5}], "tools.0.name"),
        ([{"name": "f", "input_schema": []}], "tools.0.input_schema"),
        ([{"name": "f"}, {"name": "f"}], "tools.1"),  # the shared rule, Anthropic's path
    ],
)
def test_a_bad_tool_is_named_by_its_anthropic_path(tools: list[Any], param: str) -> None:
    body = {"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
    with pytest.raises(FieldError) as caught:
        parse_messages_request({**body, "tools": tools})
    assert caught.value.param == param
    assert caught.value.message.startswith(param)
