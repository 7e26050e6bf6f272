"""The official openai and anthropic SDKs against the mock as a real process, retries off."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import openai
import pytest

from mock_provider.answers import answer_text
from shared.models import estimate_tokens
from tests.integration.mock_provider.real_process import control, log_entries, set_plan
from tests.support.services import RunningService, start_service

PROMPT = "What does a circuit breaker do?"
OPENAI_KEY = "sk-test-openai"
ANTHROPIC_KEY = "sk-ant-test"
MESSAGES: list[anthropic.types.MessageParam] = [{"role": "user", "content": PROMPT}]


@pytest.fixture(scope="module")
def service() -> Iterator[RunningService]:
    running = start_service(
        "mock_provider",
        ["--token-interval-s", "0", "--seed", "3"],
        env={"MOCK_OPENAI_KEY": OPENAI_KEY, "MOCK_ANTHROPIC_KEY": ANTHROPIC_KEY},
    )
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def healthy(service: RunningService) -> None:
    control(service, "POST", "/config/reset")


@pytest.fixture
def oai(service: RunningService) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{service.base_url}/v1", api_key=OPENAI_KEY, max_retries=0)


@pytest.fixture
def claude(service: RunningService) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=service.base_url, api_key=ANTHROPIC_KEY, max_retries=0)


def test_openai_sdk_completes_a_call(oai: openai.OpenAI) -> None:
    completion = oai.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": PROMPT}]
    )
    assert completion.choices[0].message.content == answer_text(PROMPT)
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == estimate_tokens(PROMPT)


def test_openai_sdk_streams_a_call(oai: openai.OpenAI) -> None:
    stream = oai.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": PROMPT}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == answer_text(PROMPT)
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == estimate_tokens(text)


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("429", openai.RateLimitError),
        ("429_retry_after", openai.RateLimitError),
        ("500", openai.InternalServerError),
        ("502", openai.InternalServerError),
        ("503", openai.InternalServerError),
        ("529", openai.InternalServerError),
        ("context_length", openai.BadRequestError),
        ("content_policy", openai.BadRequestError),
    ],
)
def test_openai_sdk_raises_its_own_errors_for_injected_faults(
    service: RunningService, oai: openai.OpenAI, kind: str, error: type[openai.APIStatusError]
) -> None:
    set_plan(service, {"provider": "openai", "script": [kind]})
    with pytest.raises(error) as caught:
        oai.chat.completions.create(model="m", messages=[{"role": "user", "content": PROMPT}])
    assert caught.value.request_id is not None
    if kind == "context_length":
        assert caught.value.code == "context_length_exceeded"


def test_openai_sdk_rejects_a_wrong_key(service: RunningService) -> None:
    client = openai.OpenAI(base_url=f"{service.base_url}/v1", api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": PROMPT}])


def test_openai_sdk_sees_a_reset_as_a_connection_error(
    service: RunningService, oai: openai.OpenAI
) -> None:
    set_plan(service, {"provider": "openai", "script": ["reset"]})
    with pytest.raises(openai.APIConnectionError):
        oai.chat.completions.create(model="m", messages=[{"role": "user", "content": PROMPT}])
    assert log_entries(service, provider="openai")[-1]["fault"] == "reset"


def test_anthropic_sdk_completes_a_call(claude: anthropic.Anthropic) -> None:
    message = claude.messages.create(model="claude-x", max_tokens=1024, messages=MESSAGES)
    block = message.content[0]
    assert isinstance(block, anthropic.types.TextBlock)
    assert block.text == answer_text(PROMPT)
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens == estimate_tokens(PROMPT)


def test_anthropic_sdk_streams_a_call(claude: anthropic.Anthropic) -> None:
    with claude.messages.stream(model="claude-x", max_tokens=1024, messages=MESSAGES) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == answer_text(PROMPT)
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == estimate_tokens(text)


def test_anthropic_sdk_stream_is_truncated_by_max_tokens(claude: anthropic.Anthropic) -> None:
    with claude.messages.stream(model="claude-x", max_tokens=3, messages=MESSAGES) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "max_tokens"


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("429", anthropic.RateLimitError),
        ("429_retry_after_ms", anthropic.RateLimitError),
        ("500", anthropic.InternalServerError),
        ("529", anthropic.OverloadedError),
        ("context_length", anthropic.BadRequestError),
        ("content_policy", anthropic.BadRequestError),
    ],
)
def test_anthropic_sdk_raises_its_own_errors_for_injected_faults(
    service: RunningService,
    claude: anthropic.Anthropic,
    kind: str,
    error: type[anthropic.APIStatusError],
) -> None:
    set_plan(service, {"provider": "anthropic", "script": [kind]})
    with pytest.raises(error) as caught:
        claude.messages.create(model="claude-x", max_tokens=10, messages=MESSAGES)
    assert isinstance(caught.value, anthropic.APIStatusError)
    assert caught.value.request_id is not None


def test_anthropic_sdk_rejects_a_wrong_key(service: RunningService) -> None:
    client = anthropic.Anthropic(base_url=service.base_url, api_key="wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError):
        client.messages.create(model="claude-x", max_tokens=10, messages=MESSAGES)
