"""LangChain's ChatOpenAI against the orchestrator: bind_tools and with_structured_output,
answered by either wire format (the Anthropic one through translation)."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from pydantic import BaseModel

from tests.scenarios.target import Target

PROVIDERS = ["openai", "anthropic"]


@tool
def get_weather(city: str, unit: Literal["celsius", "fahrenheit"]) -> str:
    """The weather in a city."""
    return f"21 degrees {unit} in {city}"


class Person(BaseModel):
    name: str
    age: int


def _model(target: Target, provider: str) -> ChatOpenAI:
    extra: dict[str, Any] = {"preferred_provider": provider}
    return ChatOpenAI(
        model="gpt-4o",
        base_url=f"{target.orchestrator_url}/v1",
        api_key="sk-test",  # type: ignore[arg-type]
        max_retries=0,
        extra_body=extra,
    )


def _served_by(log: list[dict[str, Any]]) -> list[str]:
    return [e["provider"] for e in log if e["status"] == 200]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_bind_tools_gets_the_tool_calls(target: Target, provider: str) -> None:
    llm = _model(target, provider).bind_tools([get_weather])
    message = await llm.ainvoke("What is the weather in Paris? Use get_weather.")
    assert isinstance(message, AIMessage)
    [call] = message.tool_calls
    assert call["name"] == "get_weather"
    assert set(call["args"]) == {"city", "unit"}
    assert call["args"]["unit"] in ("celsius", "fahrenheit")
    assert _served_by(await target.mock_log()) == [provider]


@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_with_structured_output_gets_an_instance(
    target: Target, provider: str, method: str
) -> None:
    llm = _model(target, provider).with_structured_output(Person, method=method)  # type: ignore[arg-type]
    result = await llm.ainvoke("Who wrote this? Answer with a name and an age.")
    assert isinstance(result, Person)
    assert result.name
    assert isinstance(result.age, int)
    assert _served_by(await target.mock_log()) == [provider]
