"""Values nested deeper than the upstream serializer can write are the caller's error.

orjson reads 1024 levels but writes at most 255, so a body it parsed may be one we cannot
send on: that has to be a 400 naming the field, not a failed attempt (or a 500) later.
Only the parts of a request whose shape we do not fix are walked (unknown fields, message
extras, content parts), so a plain text request costs nothing here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

MAX_NESTING_DEPTH: Final = 128
"""How deep a caller's value may nest; orjson's 255 minus ample room for our own wrapping."""


def too_deep(roots: Iterable[tuple[str, Any]], limit: int = MAX_NESTING_DEPTH) -> str | None:
    """The name of the first root whose value nests more than ``limit`` levels, or None.
    Iterative, so a hostile depth cannot exhaust the interpreter's stack."""
    for name, root in roots:
        stack: list[tuple[Any, int]] = [(root, 1)]
        while stack:
            value, depth = stack.pop()
            if isinstance(value, dict):
                children: Iterable[Any] = value.values()
            elif isinstance(value, list):
                children = value
            else:
                continue
            if depth > limit:
                return name
            stack.extend((child, depth + 1) for child in children)
    return None
