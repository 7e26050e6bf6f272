"""Every bad input gets a clear OpenAI-shaped error with the request id, never a stack trace."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from orchestrator.app import create_app
from orchestrator.config import DeploymentConfig, RouteConfig, default_config

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[[web.Application], Awaitable[Client]]


@pytest.fixture
async def client(aiohttp_client: MakeClient) -> Client:
    config = default_config()
    tiny = RouteConfig("tiny", (DeploymentConfig("openai", "tiny", 64, 32),))
    config = dataclasses.replace(
        config,
        server=dataclasses.replace(config.server, max_body_bytes=4096),
        routes={**config.routes, "tiny": tiny},
    )
    return await aiohttp_client(create_app(config))


async def _post(client: Client, data: bytes | str, **headers: str) -> tuple[int, Any, Any]:
    response = await client.post(
        "/v1/chat/completions",
        data=data,
        headers={"Content-Type": "application/json", **headers},
    )
    return response.status, await response.json(), response.headers


def _assert_error_shape(body: dict[str, Any]) -> None:
    assert set(body["error"]) >= {"message", "type", "param", "code"}
    assert body["request_id"]


async def test_malformed_json_is_a_400_with_the_request_id(client: Client) -> None:
    status, body, headers = await _post(client, "{not json", **{"X-Request-ID": "bad-json-1"})
    assert status == 400
    _assert_error_shape(body)
    assert body["request_id"] == "bad-json-1"
    assert headers["X-Request-ID"] == "bad-json-1"
    assert headers["x-should-retry"] == "false"


async def test_empty_body_is_a_400(client: Client) -> None:
    status, body, _ = await _post(client, b"")
    assert status == 400
    _assert_error_shape(body)


async def test_unknown_model_is_a_404_model_not_found(client: Client) -> None:
    status, body, _ = await _post(
        client, '{"model": "gpt-9", "messages": [{"role": "user", "content": "hi"}]}'
    )
    assert status == 404
    assert body["error"]["code"] == "model_not_found"
    assert body["error"]["param"] == "model"


@pytest.mark.parametrize(
    ("payload", "param"),
    [
        ('{"messages": [{"role": "user", "content": "hi"}]}', "model"),
        ('{"model": "gpt-4"}', "messages"),
        ('{"model": "gpt-4", "messages": []}', "messages"),
        ('{"model": "gpt-4", "messages": [{"role": "user"}]}', "messages[0].content"),
        ('{"model": "gpt-4", "messages": [{"role": "user", "content": 5}]}', "messages[0].content"),
        (
            '{"model": "gpt-4", "messages": [{"role": "user", "content": "a"}, {"content": "b"}]}',
            "messages[1].role",
        ),
        (
            '{"model": "gpt-4", "messages": [{"role": "user", "content": "hi"}], '
            '"temperature": 2.5}',
            "temperature",
        ),
        (
            '{"model": "gpt-4", "messages": [{"role": "user", "content": "hi"}], "top_p": -0.1}',
            "top_p",
        ),
        (
            '{"model": "gpt-4", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 0}',
            "max_tokens",
        ),
        (
            '{"model": "gpt-4", "messages": [{"role": "user", "content": "hi"}], '
            '"max_tokens": 99999}',
            "max_tokens",
        ),
    ],
)
async def test_each_bad_field_is_named_in_param(client: Client, payload: str, param: str) -> None:
    status, body, _ = await _post(client, payload)
    assert status == 400, body
    assert body["error"]["param"] == param
    assert body["error"]["type"] == "invalid_request_error"


async def test_prompt_over_the_context_window_is_rejected(client: Client) -> None:
    prompt = "x" * 400  # about 100 tokens: over the "tiny" route's 64-token window
    payload = '{"model": "tiny", "messages": [{"role": "user", "content": "' + prompt + '"}]}'
    status, body, _ = await _post(client, payload)
    assert status == 400, body
    assert body["error"]["code"] == "context_length_exceeded"
    assert body["error"]["param"] == "messages"


async def test_body_over_the_limit_is_a_413(client: Client) -> None:
    status, body, _ = await _post(client, "x" * 10_000)
    assert status == 413
    assert body["error"]["code"] == "request_too_large"


async def test_unknown_path_and_wrong_method_answer_json(client: Client) -> None:
    missing = await client.get("/v1/nothing-here")
    assert missing.status == 404
    _assert_error_shape(await missing.json())
    wrong = await client.get("/v1/chat/completions")
    assert wrong.status == 405
    _assert_error_shape(await wrong.json())


async def test_an_insane_request_id_is_replaced_by_a_generated_one(client: Client) -> None:
    status, body, headers = await _post(client, "{", **{"X-Request-ID": "bad id\twith spaces"})
    assert status == 400
    assert body["request_id"].startswith("req_")
    assert headers["X-Request-ID"] == body["request_id"]
