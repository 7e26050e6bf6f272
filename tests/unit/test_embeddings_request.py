"""Embeddings requests: OpenAI's four input forms, each bad field named, and where they go."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from mock_provider.embeddings import vector
from orchestrator.capabilities import Capability, needs
from orchestrator.config import ConfigError, load_config
from orchestrator.providers.base import MalformedResponse
from orchestrator.providers.openai_embeddings import embeddings_request, parse_embeddings
from shared.embeddings import parse_embedding_request
from shared.models import FieldError
from tests.unit.adapter_support import deployment


@pytest.mark.parametrize(
    ("given", "inputs", "single"),
    [
        ("one text", ("one text",), True),
        (["a", "b"], ("a", "b"), False),
        ([1, 2, 3], ((1, 2, 3),), True),
        ([[1, 2], [3]], ((1, 2), (3,)), False),
    ],
)
def test_the_four_input_forms_and_what_goes_upstream(
    given: Any, inputs: tuple[Any, ...], single: bool
) -> None:
    request = parse_embedding_request({"model": "e", "input": given, "dimensions": 8})
    assert (request.inputs, request.single) == (inputs, single)
    upstream = embeddings_request(request, deployment("openai", model="e-3"), "r", 2)
    body = orjson.loads(upstream.body)
    assert body == {"model": "e-3", "input": given, "dimensions": 8}
    assert upstream.url.endswith("/v1/embeddings")
    assert upstream.headers["X-Attempt-Number"] == "2"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": "x"}, "model"),
        ({"model": "e"}, "input"),
        ({"model": "e", "input": ""}, "input"),
        ({"model": "e", "input": {"text": "x"}}, "input"),
        ({"model": "e", "input": ["a", ""]}, "input[1]"),
        ({"model": "e", "input": ["a", [1, -2]]}, "input[1]"),
        ({"model": "e", "input": ["a"] * 2049}, "input"),
        ({"model": "e", "input": "x", "encoding_format": "hex"}, "encoding_format"),
        ({"model": "e", "input": "x", "dimensions": True}, "dimensions"),
        ({"model": "e", "input": "x", "user": 5}, "user"),
        ({"model": "e", "input": "x", "fallbacks": "other"}, "fallbacks"),
    ],
)
def test_each_bad_field_is_named(body: dict[str, Any], param: str) -> None:
    with pytest.raises(FieldError) as caught:
        parse_embedding_request(body)
    assert caught.value.param == param


def test_the_longest_input_is_what_must_fit_a_context_window() -> None:
    request = parse_embedding_request({"model": "e", "input": ["a" * 400, "b" * 40, [1] * 30]})
    assert request.estimated_prompt_tokens() == 100
    assert request.estimated_total_tokens() == 140


def test_only_deployments_with_an_embeddings_api_are_asked() -> None:
    [need] = needs(parse_embedding_request({"model": "e", "input": "x"}))
    assert need.capability is Capability.EMBEDDINGS


def test_an_anthropic_provider_cannot_claim_embeddings(tmp_path: Path) -> None:
    path = tmp_path / "o.toml"
    path.write_text(
        '[providers.a]\nwire_format = "anthropic"\nbase_url = "http://x"\n'
        "capabilities = { embeddings = true }\n"
        '[routes.m]\ndeployments = [{ provider = "a", model = "c", '
        "context_window_tokens = 10, max_output_tokens = 1 }]\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="no embeddings API"):
        load_config(str(path), {})


def test_an_answer_must_hold_one_vector_per_input() -> None:
    request = parse_embedding_request({"model": "e", "input": ["a", "b"]})
    one = {"object": "list", "data": [{"embedding": [0.1]}], "usage": {"prompt_tokens": 1}}
    with pytest.raises(MalformedResponse, match="2 embeddings"):
        parse_embeddings(orjson.dumps(one), request)
    two = {**one, "data": [{"embedding": [0.1]}, {"embedding": "AAAA"}]}
    parsed = parse_embeddings(orjson.dumps(two), request)
    assert parsed.usage.prompt_tokens == 1
    assert parsed.body == two


def test_the_mock_s_vectors_are_a_function_of_model_and_input() -> None:
    assert vector("m", "x", 16) == vector("m", "x", 16)
    assert vector("m", "x", 16) != vector("m", "y", 16)
    assert vector("m", "x", 16) != vector("n", "x", 16)
    assert abs(sum(v * v for v in vector("m", (1, 2), 32)) - 1.0) < 1e-9
