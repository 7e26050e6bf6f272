"""The OpenAI chat-completions format through real HTTP: answers, errors, streams, keys."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from mock_provider.answers import answer_text
from shared.models import estimate_tokens
from tests.integration.mock_provider.conftest import MockFactory
from tests.integration.mock_provider.helpers import (
    OPENAI_PATH,
    PROMPT,
    openai_body,
    parse_sse,
    sse_json,
)

Client = TestClient[Any, Any]


async def test_completion_has_the_chat_completion_shape(mock: Client) -> None:
    response = await mock.post(OPENAI_PATH, json=openai_body())
    assert response.status == 200
    assert response.content_type == "application/json"
    body = await response.json()
    assert body["id"].startswith("chatcmpl-")
    assert body["object"] == "chat.completion"
    assert isinstance(body["created"], int)
    assert body["model"] == "gpt-4o-mini"
    choice = body["choices"][0]
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"] == answer_text(PROMPT)
    assert choice["finish_reason"] == "stop"
    assert body["usage"] == {
        "prompt_tokens": estimate_tokens(PROMPT),
        "completion_tokens": estimate_tokens(answer_text(PROMPT)),
        "total_tokens": estimate_tokens(PROMPT) + estimate_tokens(answer_text(PROMPT)),
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    }
    assert body["system_fingerprint"] == "fp_mock"


async def test_answer_is_the_same_for_the_same_prompt(mock: Client) -> None:
    first = await (await mock.post(OPENAI_PATH, json=openai_body("same"))).json()
    second = await (await mock.post(OPENAI_PATH, json=openai_body("same"))).json()
    assert first["choices"][0]["message"] == second["choices"][0]["message"]
    assert first["id"] != second["id"]


async def test_max_tokens_truncates_with_finish_reason_length(mock: Client) -> None:
    body = await (await mock.post(OPENAI_PATH, json=openai_body(max_tokens=3))).json()
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 3
    assert answer_text(PROMPT).startswith(body["choices"][0]["message"]["content"])


async def test_request_id_is_echoed_or_generated(mock: Client) -> None:
    echoed = await mock.post(OPENAI_PATH, json=openai_body(), headers={"X-Request-ID": "rid-1"})
    assert echoed.headers["x-request-id"] == "rid-1"
    generated = await mock.post(OPENAI_PATH, json=openai_body())
    assert generated.headers["x-request-id"].startswith("req_")


USER = [{"role": "user", "content": "x"}]


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"messages": USER}, "model", "missing_required_parameter"),
        ({"model": "m"}, "messages", "missing_required_parameter"),
        ({"model": 5, "messages": []}, "model", "invalid_type"),
        ({"model": "m", "messages": [{"role": "robot", "content": "x"}]}, "messages[0].role",
         "invalid_value"),
        ({"model": "m", "messages": USER, "temperature": 3}, "temperature", "invalid_value"),
        ({"model": "m", "messages": USER, "stream": "yes"}, "stream", "invalid_type"),
        ([1, 2], None, "invalid_type"),
    ],
)  # fmt: skip
async def test_invalid_request_gets_openai_400_naming_the_field(
    mock: Client, body: Any, param: str | None, code: str
) -> None:
    response = await mock.post(OPENAI_PATH, json=body)
    assert response.status == 400
    error = (await response.json())["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", param, code)


async def test_malformed_json_body_gets_a_400_not_a_stack_trace(mock: Client) -> None:
    response = await mock.post(OPENAI_PATH, data=b'{"model": ', headers={"X-Request-ID": "bad"})
    assert response.status == 400
    error = (await response.json())["error"]
    assert error["type"] == "invalid_request_error"
    assert "parse the JSON body" in error["message"]
    assert response.headers["x-request-id"] == "bad"


async def test_stream_sends_chunks_then_done(mock: Client) -> None:
    response = await mock.post(OPENAI_PATH, json=openai_body(stream=True))
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    text = await response.text()
    assert parse_sse(text)[-1] == (None, "[DONE]")
    chunks = sse_json(text)
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    content = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert content == answer_text(PROMPT)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert "usage" not in chunks[-1]


async def test_stream_with_include_usage_ends_with_a_usage_chunk(mock: Client) -> None:
    body = openai_body(stream=True, stream_options={"include_usage": True}, max_tokens=4)
    chunks = sse_json(await (await mock.post(OPENAI_PATH, json=body)).text())
    assert all(c["usage"] is None for c in chunks[:-1])
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == 4


async def test_stream_paces_tokens_by_the_configured_interval(make_mock: MockFactory) -> None:
    mock = await make_mock(token_interval_s=0.01)
    await mock.post("/config/failures", json={"token_interval_seconds": 0.0})
    response = await mock.post(OPENAI_PATH, json=openai_body(stream=True))
    assert response.status == 200
    config = await (await mock.get("/config")).json()
    assert config["token_interval_seconds"] == 0.01
    assert config["providers"]["openai"]["token_interval_seconds"] == 0.0


async def test_required_key_rejects_missing_and_wrong_keys(make_mock: MockFactory) -> None:
    mock = await make_mock(openai_key="sk-right")
    missing = await mock.post(OPENAI_PATH, json=openai_body())
    assert missing.status == 401
    assert (await missing.json())["error"]["type"] == "invalid_request_error"
    wrong = await mock.post(
        OPENAI_PATH, json=openai_body(), headers={"Authorization": "Bearer sk-wrong-key"}
    )
    assert wrong.status == 401
    error = (await wrong.json())["error"]
    assert error["code"] == "invalid_api_key"
    assert "sk-wrong-key" not in error["message"]
    right = await mock.post(
        OPENAI_PATH, json=openai_body(), headers={"Authorization": "Bearer sk-right"}
    )
    assert right.status == 200


async def test_without_a_configured_key_any_key_or_none_is_accepted(mock: Client) -> None:
    for headers in ({}, {"Authorization": "Bearer anything"}):
        assert (await mock.post(OPENAI_PATH, json=openai_body(), headers=headers)).status == 200
