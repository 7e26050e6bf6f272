"""The errors a request parser raises, worded as OpenAI words them, naming the field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.models import FieldError, shown


def type_name(value: object) -> str:
    match value:
        case None:
            return "null"
        case bool():
            return "boolean"
        case int():
            return "integer"
        case float():
            return "number"
        case str():
            return "string"
        case list():
            return "array"
        case dict():
            return "object"
    return type(value).__name__


def invalid_type(param: str, value: object, expected: str) -> FieldError:
    return FieldError(
        param,
        f"Invalid type for '{param}': expected {expected}, but got {type_name(value)} instead.",
        "invalid_type",
    )


def missing(param: str) -> FieldError:
    return FieldError(
        param, f"Missing required parameter: '{param}'.", "missing_required_parameter"
    )


def invalid_value(param: str, value: object, allowed: tuple[str, ...]) -> FieldError:
    listed = "', '".join(allowed)
    return FieldError(
        param,
        f"Invalid value: '{shown(value)}'. Supported values are: '{listed}'.",
        "invalid_value",
    )


def required_string(container: Mapping[str, Any], key: str, param: str) -> str:
    value = container.get(key)
    if value is None:
        raise missing(param)
    if not isinstance(value, str):
        raise invalid_type(param, value, "a string")
    return value
