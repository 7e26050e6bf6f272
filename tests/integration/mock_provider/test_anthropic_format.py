"""The Anthropic messages format through real HTTP: answers, errors, the event stream, keys."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from mock_provider.answers import answer_text
from shared.models import estimate_tokens
from tests.integration.mock_provider.conftest import MockFactory
from tests.integration.mock_provider.helpers import (
    ANTHROPIC_PATH,
    PROMPT,
    anthropic_body,
    parse_sse,
    sse_json,
)

Client = TestClient[Any, Any]


async def test_message_has_the_anthropic_shape(mock: Client) -> None:
    response = await mock.post(ANTHROPIC_PATH, json=anthropic_body())
    assert response.status == 200
    assert response.headers["request-id"].startswith("req_")
    body = await response.json()
    assert body["id"].startswith("msg_")
    assert (body["type"], body["role"], body["model"]) == (
        "message",
        "assistant",
        "claude-3-5-haiku-latest",
    )
    assert body["content"] == [{"type": "text", "text": answer_text(PROMPT)}]
    assert (body["stop_reason"], body["stop_sequence"]) == ("end_turn", None)
    assert body["usage"] == {
        "input_tokens": estimate_tokens(PROMPT),
        "output_tokens": estimate_tokens(answer_text(PROMPT)),
    }


async def test_system_prompt_counts_toward_input_tokens(mock: Client) -> None:
    body = anthropic_body(system="Be brief.")
    usage = (await (await mock.post(ANTHROPIC_PATH, json=body)).json())["usage"]
    assert usage["input_tokens"] == estimate_tokens("Be brief.") + estimate_tokens(PROMPT)


async def test_content_blocks_are_read_as_text(mock: Client) -> None:
    body = anthropic_body()
    body["messages"][0]["content"] = [{"type": "text", "text": PROMPT}]
    reply = await (await mock.post(ANTHROPIC_PATH, json=body)).json()
    assert reply["content"][0]["text"] == answer_text(PROMPT)


async def test_max_tokens_truncates_with_stop_reason_max_tokens(mock: Client) -> None:
    body = await (await mock.post(ANTHROPIC_PATH, json=anthropic_body(max_tokens=2))).json()
    assert body["stop_reason"] == "max_tokens"
    assert body["usage"]["output_tokens"] == 2


async def test_request_id_is_the_providers_own(mock: Client) -> None:
    response = await mock.post(
        ANTHROPIC_PATH, json=anthropic_body(), headers={"X-Request-ID": "mine"}
    )
    assert response.headers["request-id"] != "mine"


USER = [{"role": "user", "content": "x"}]


def claude(**fields: Any) -> dict[str, Any]:
    """A valid body with ``fields`` replaced; a field set to None is left out."""
    body = {"model": "c", "max_tokens": 5, "messages": USER, **fields}
    return {k: v for k, v in body.items() if v is not None}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (claude(model=None), "model"),
        (claude(max_tokens=None), "max_tokens"),
        (claude(messages=None), "messages"),
        (claude(max_tokens=0), "max_tokens"),
        (claude(max_tokens="5"), "max_tokens"),
        (claude(messages=[]), "messages"),
        (claude(messages=[{"role": "system", "content": "x"}]), "messages.0.role"),
        (claude(messages=[{"role": "user"}]), "messages.0.content"),
        (claude(messages=[{"role": "user", "content": [{"type": "text"}]}]),
         "messages.0.content.0.text"),
        (claude(system=5), "system"),
        (claude(temperature=1.5), "temperature"),
        (claude(stream=1), "stream"),
    ],
)  # fmt: skip
async def test_invalid_request_gets_anthropic_400_naming_the_field(
    mock: Client, body: dict[str, Any], field: str
) -> None:
    response = await mock.post(ANTHROPIC_PATH, json=body)
    assert response.status == 400
    assert response.headers["request-id"].startswith("req_")
    payload = await response.json()
    assert payload["type"] == "error"
    assert payload["error"]["type"] == "invalid_request_error"
    assert payload["error"]["message"].startswith(f"{field}:")


async def test_malformed_json_body_gets_an_anthropic_400(mock: Client) -> None:
    response = await mock.post(ANTHROPIC_PATH, data=b"{nope")
    assert response.status == 400
    assert (await response.json())["error"]["type"] == "invalid_request_error"


async def test_stream_follows_the_anthropic_event_sequence(mock: Client) -> None:
    response = await mock.post(ANTHROPIC_PATH, json=anthropic_body(stream=True))
    assert response.headers["Content-Type"].startswith("text/event-stream")
    text = await response.text()
    names = [name for name, _ in parse_sse(text)]
    deltas = names.count("content_block_delta")
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        *["content_block_delta"] * deltas,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    payloads = sse_json(text)
    assert [p["type"] for p in payloads] == names
    text_out = "".join(p["delta"]["text"] for p in payloads if p["type"] == "content_block_delta")
    assert text_out == answer_text(PROMPT)
    message_delta = payloads[-2]
    assert message_delta["delta"]["stop_reason"] == "end_turn"
    assert message_delta["usage"]["output_tokens"] == estimate_tokens(answer_text(PROMPT))
    assert payloads[0]["message"]["usage"]["input_tokens"] == estimate_tokens(PROMPT)


async def test_required_key_rejects_missing_and_wrong_x_api_key(make_mock: MockFactory) -> None:
    mock = await make_mock(anthropic_key="ak-right")
    for headers in ({}, {"x-api-key": "ak-wrong"}, {"Authorization": "Bearer ak-wrong"}):
        response = await mock.post(ANTHROPIC_PATH, json=anthropic_body(), headers=headers)
        assert response.status == 401
        payload = await response.json()
        assert payload == {"type": "error", "error": payload["error"]}
        assert payload["error"]["type"] == "authentication_error"
    for headers in ({"x-api-key": "ak-right"}, {"Authorization": "Bearer ak-right"}):
        right = await mock.post(ANTHROPIC_PATH, json=anthropic_body(), headers=headers)
        assert right.status == 200


async def test_keys_are_per_format(make_mock: MockFactory) -> None:
    mock = await make_mock(anthropic_key="ak-right")
    response = await mock.post(
        "/v1/chat/completions",
        json={"model": "m", "messages": [{"role": "user", "content": "x"}]},
    )
    assert response.status == 200
