"""Generated request ids: unguessable (os.urandom), unique, and drawn in batches."""

from __future__ import annotations

import os
import re

import pytest

from orchestrator.http.request_ids import BATCH, RequestIds


def test_ids_are_96_random_bits_in_hex_and_unique() -> None:
    ids = RequestIds()
    drawn = [ids.new() for _ in range(3 * BATCH)]
    assert all(re.fullmatch(r"req_[0-9a-f]{24}", i) for i in drawn)
    assert len(set(drawn)) == len(drawn)


def test_randomness_comes_from_the_os_one_call_per_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []
    real_urandom = os.urandom

    def counting_urandom(size: int) -> bytes:
        calls.append(size)
        return real_urandom(size)

    monkeypatch.setattr(os, "urandom", counting_urandom)
    ids = RequestIds()
    for _ in range(2 * BATCH + 1):
        ids.new()
    assert len(calls) == 3
