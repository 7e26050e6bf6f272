"""The errors an Anthropic-format parser raises, worded as Anthropic words them."""

from __future__ import annotations

from shared.models import FieldError


def type_name(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    return {
        type(None): "null",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)


def field_required(param: str) -> FieldError:
    return FieldError(param, f"{param}: Field required", "missing_required_parameter")


def wrong_type(param: str, expected: str, value: object) -> FieldError:
    return FieldError(
        param, f"{param}: Input should be {expected}, got {type_name(value)}", "invalid_type"
    )
