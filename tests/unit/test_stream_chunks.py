"""Our OpenAI chunk encoding: the shape SDKs parse, and the in-band error."""

from __future__ import annotations

from typing import Any

import orjson

from orchestrator.http.openai_chunks import ChunkEncoder, error_event
from shared.models import Usage


def decode(event: bytes) -> dict[str, Any]:
    assert event.startswith(b"data: ")
    assert event.endswith(b"\n\n")
    decoded: dict[str, Any] = orjson.loads(event[len(b"data: ") : -2])
    return decoded


def test_first_delta_names_the_role_and_later_ones_do_not() -> None:
    encoder = ChunkEncoder("chatcmpl-1", 123, "gpt-4", include_usage=False)
    first, second = decode(encoder.delta("He")), decode(encoder.delta('llo "x"'))
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": "He"}
    assert second["choices"][0]["delta"] == {"content": 'llo "x"'}
    assert second == {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 123,
        "model": "gpt-4",
        "system_fingerprint": None,
        "choices": [
            {"index": 0, "delta": {"content": 'llo "x"'}, "logprobs": None, "finish_reason": None}
        ],
    }


def test_with_include_usage_every_chunk_has_null_usage_and_the_usage_chunk_has_counts() -> None:
    encoder = ChunkEncoder("c", 1, "claude", include_usage=True)
    assert decode(encoder.delta("a"))["usage"] is None
    finish = decode(encoder.finish("stop", {"request_id": "r1"}))
    assert (finish["usage"], finish["request_id"]) == (None, "r1")
    usage = decode(encoder.usage(Usage(3, 4)))
    assert usage["choices"] == []
    assert usage["usage"] == {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}


def test_finish_of_an_empty_answer_still_names_the_role() -> None:
    encoder = ChunkEncoder("c", 1, "m", include_usage=False)
    choice = decode(encoder.finish("stop", {}))["choices"][0]
    assert choice["delta"] == {"role": "assistant", "content": ""}
    assert choice["finish_reason"] == "stop"


def test_error_event_is_an_openai_error_body_with_the_request_id() -> None:
    body = decode(error_event("cut", "stream_interrupted", "req_1", {"provider": "openai"}))
    assert body == {
        "error": {
            "message": "cut",
            "type": "server_error",
            "param": None,
            "code": "stream_interrupted",
            "provider": "openai",
        },
        "request_id": "req_1",
    }
