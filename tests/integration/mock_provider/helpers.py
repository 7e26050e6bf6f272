"""Request bodies and SSE parsing shared by the mock provider's HTTP tests."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp.test_utils import TestClient

OPENAI_PATH = "/v1/chat/completions"
ANTHROPIC_PATH = "/v1/messages"
PROMPT = "Tell me about circuit breakers."


def openai_body(content: str = PROMPT, **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": content}], **extra}


def anthropic_body(content: str = PROMPT, **extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-3-5-haiku-latest",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": content}],
        **extra,
    }


def body_for(provider: str, **extra: Any) -> tuple[str, dict[str, Any]]:
    """The path and a valid body for ``provider``'s format."""
    if provider == "openai":
        return OPENAI_PATH, openai_body(**extra)
    return ANTHROPIC_PATH, anthropic_body(**extra)


def parse_sse(text: str) -> list[tuple[str | None, str]]:
    """(event name, data) per server-sent event, in order."""
    events: list[tuple[str | None, str]] = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        name: str | None = None
        data: list[str] = []
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                data.append(line[len("data: ") :])
        events.append((name, "\n".join(data)))
    return events


def sse_json(text: str) -> list[dict[str, Any]]:
    """The JSON payloads of a well-formed stream, skipping OpenAI's ``[DONE]``."""
    return [orjson.loads(data) for _, data in parse_sse(text) if data != "[DONE]"]


async def set_plan(client: TestClient[Any, Any], plan: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/config/failures", json=plan)
    payload: dict[str, Any] = await response.json()
    assert response.status == 200, payload
    return payload


async def log_entries(client: TestClient[Any, Any], **query: str) -> list[dict[str, Any]]:
    response = await client.get("/log", params=query)
    assert response.status == 200
    entries: list[dict[str, Any]] = (await response.json())["entries"]
    return entries
