"""Deterministic answer text: the same prompt always gets the same answer.

Tests compare whole answers, so the text is a pure function of the prompt: a SHAKE-128
digest of the prompt picks 40-80 words from a fixed list of 256 (one digest byte a word).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

from shared.models import CHARS_PER_TOKEN, estimate_tokens

# A word per digest byte; a split string keeps 256 words readable on 20 lines.
WORDS: Final = tuple(
    """
    the a an and or but so yet of to in on at by for with from into over under about after
    before during between through across against among around behind beyond within without
    upon toward system request answer model provider service network client server token
    stream message retry backoff deadline circuit breaker failover latency timeout budget
    signal window queue cache replica region cluster node packet header payload journey
    record metric trace span reliable steady careful quick quiet bright clear simple
    gentle patient honest modest robust calm precise useful humble brave early late soon
    often always never rarely sometimes again here there now then today tomorrow together
    apart forward backward inside outside above below river mountain forest meadow harbor
    island valley garden bridge lantern compass anchor beacon morning evening winter
    summer autumn spring thunder breeze rain snow cloud star moon sun ocean build measure
    observe recover restore balance deliver wait listen carry guide protect choose follow
    return arrive depart travel gather share learn teach write read count check every each
    many several few most some other another such same different whole single double small
    large long short wide narrow deep shallow high low near far warm cool fresh old new
    first second third last next final main minor major basic central local global partial
    total plan path road map key door room wall floor table letter number word line page
    book story note light shadow color sound voice silence rhythm pattern shape detail
    surface edge center corner keeps holds moves turns makes takes gives finds shows
    """.split()  # noqa: SIM905
)
MIN_WORDS: Final = 40
MAX_WORDS: Final = 80
_SENTENCE_BREAK_MODULUS: Final = 11
"""A word whose digest byte is a multiple of this ends a sentence (about one in eleven)."""


@dataclass(frozen=True, slots=True)
class Answer:
    """The text to send, and whether max_tokens cut it short."""

    text: str
    truncated: bool

    @property
    def tokens(self) -> int:
        return estimate_tokens(self.text)

    @property
    def pieces(self) -> tuple[str, ...]:
        """Stream pieces: one word each, carrying its leading space as real tokenizers do."""
        if not self.text:
            return ()
        first, *rest = self.text.split(" ")
        return (first, *[" " + word for word in rest])


def answer_text(prompt: str) -> str:
    """The full answer for ``prompt``: 40-80 words in capitalised sentences ending in a period."""
    digest = hashlib.shake_128(prompt.encode("utf-8", "surrogatepass")).digest(MAX_WORDS + 1)
    picks = digest[1 : MIN_WORDS + 1 + digest[0] % (MAX_WORDS - MIN_WORDS + 1)]
    words = [WORDS[byte] for byte in picks]
    # A word whose byte is a multiple of the modulus ends its sentence; the next one opens one.
    for index, byte in enumerate(picks):
        if byte % _SENTENCE_BREAK_MODULUS == 0:
            words[index] += "."
            if index + 1 < len(words):
                words[index + 1] = words[index + 1].capitalize()
    words[0] = words[0].capitalize()
    text = " ".join(words)
    return text if text.endswith(".") else text + "."


def make_answer(prompt: str, max_tokens: int | None) -> Answer:
    """The answer for ``prompt``, cut to ``max_tokens`` (by the 4-characters rule) if set."""
    text = answer_text(prompt)
    truncated = max_tokens is not None and estimate_tokens(text) > max_tokens
    if max_tokens is not None and truncated:
        text = text[: max_tokens * CHARS_PER_TOKEN]
    return Answer(text=text, truncated=truncated)
