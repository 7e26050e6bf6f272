"""The translation conformance suite: every golden case, byte for byte after normalising.

A red case shows a readable diff of what the orchestrator now sends upstream or returns.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.golden.translation import INPUTS, case_paths, load, normalised, render


@pytest.mark.parametrize("path", case_paths(), ids=lambda p: p.stem)
def test_golden_case(path: Path) -> None:
    case = load(path)
    expected = {key: value for key, value in case.items() if key not in INPUTS}
    assert expected, f"{path.name} has no expected parts: run python -m tests.golden.regenerate"
    assert normalised(render(case)) == normalised(expected)


def test_there_are_cases_for_both_wire_formats() -> None:
    formats = {load(path)["wire_format"] for path in case_paths()}
    assert formats == {"openai", "anthropic"}
