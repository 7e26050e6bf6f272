from __future__ import annotations

import pytest

from mock_provider.answers import MAX_WORDS, MIN_WORDS, answer_text, make_answer
from shared.models import estimate_tokens

PROMPTS = ["hello", "Explain circuit breakers.", "", "ünïcødé \ud800 prompt", "x" * 10_000]


@pytest.mark.parametrize("prompt", PROMPTS)
def test_same_prompt_always_gets_the_same_answer(prompt: str) -> None:
    assert answer_text(prompt) == answer_text(prompt)


@pytest.mark.parametrize("prompt", PROMPTS)
def test_answer_has_40_to_80_words_and_ends_a_sentence(prompt: str) -> None:
    text = answer_text(prompt)
    assert MIN_WORDS <= len(text.split()) <= MAX_WORDS
    assert text[0].isupper()
    assert text.endswith(".")


def test_different_prompts_get_different_answers() -> None:
    assert len({answer_text(f"prompt {n}") for n in range(50)}) == 50


def test_max_tokens_truncates_to_exactly_that_many_tokens() -> None:
    answer = make_answer("hello", max_tokens=5)
    assert answer.truncated
    assert answer.tokens == 5
    assert answer_text("hello").startswith(answer.text)


def test_max_tokens_above_the_answer_leaves_it_whole() -> None:
    full = answer_text("hello")
    answer = make_answer("hello", max_tokens=estimate_tokens(full))
    assert not answer.truncated
    assert answer.text == full


def test_stream_pieces_join_back_into_the_text() -> None:
    answer = make_answer("pieces", None)
    assert "".join(answer.pieces) == answer.text
    assert len(answer.pieces) == len(answer.text.split())
    assert all(piece.startswith(" ") for piece in answer.pieces[1:])
