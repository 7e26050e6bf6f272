"""The OpenAPI 3.1 document served at ``GET /openapi.json``, kept as data beside this file.

``tests/integration/test_openapi.py`` validates real answers against its schemas (JSON
Schema 2020-12), and ``tests/unit/test_openapi_document.py`` checks that its enums are the
values the code uses (outcome kinds, decisions, breaker states, roles), so the data file
cannot drift from the engine unnoticed. A new route is a new entry in ``openapi.json``.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any, Final

import orjson

DOCUMENT_FILE: Final = "openapi.json"


def openapi_bytes() -> bytes:
    return files(__package__ or "orchestrator.http").joinpath(DOCUMENT_FILE).read_bytes()


def openapi_document() -> dict[str, Any]:
    """The whole document (a fresh copy on every call; the app serialises it once)."""
    document: dict[str, Any] = orjson.loads(openapi_bytes())
    return document
