"""Reading one TOML table into typed values, with errors that name the key and the value.

Keys nobody reads are reported as typos (with the closest known key), and a value an
environment variable supplied says which variable set it.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterator, Mapping
from enum import Enum
from typing import Any, Final, TypeVar

from orchestrator.config.sources import ConfigError, Override, key_path
from orchestrator.policies import PolicyError


class Required(Enum):
    MARK = "required"


REQUIRED: Final = Required.MARK
_T = TypeVar("_T")


def origin_note(path: str, origins: Mapping[str, Override]) -> str:
    override = origins.get(path)
    if override is None:
        # An unknown table is reported by its own path; the variable set a key inside it.
        override = next(
            (o for p, o in origins.items() if p.startswith((f"{path}.", f"{path}["))), None
        )
    return f" (set by {override.env_name})" if override is not None else ""


def _error(path: str, value: object, rule: str, origins: Mapping[str, Override]) -> ConfigError:
    return ConfigError(f"{path}={value!r} {rule}{origin_note(path, origins)}")


class Table:
    """One TOML table being read into typed values; keys nobody read are reported as typos."""

    __slots__ = ("_origins", "_raw", "_read", "path")

    def __init__(self, raw: Mapping[str, Any], path: str, origins: Mapping[str, Override]):
        self._raw = raw
        self._origins = origins
        self._read: set[str] = set()
        self.path = path

    def fail(self, key: str, value: object, rule: str) -> ConfigError:
        return _error(key_path(self.path, key), value, rule, self._origins)

    def fail_here(self, value: object, rule: str) -> ConfigError:
        return _error(self.path, value, rule, self._origins)

    def _value(self, key: str, default: object) -> object:
        self._read.add(key)
        if key in self._raw:
            return self._raw[key]
        if default is REQUIRED:
            raise ConfigError(f"{key_path(self.path, key)} is required")
        return default

    def integer(self, key: str, default: int | Required = REQUIRED) -> int:
        value = self._value(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, value, "must be an integer")
        return value

    def number(self, key: str, default: float | Required = REQUIRED) -> float:
        value = self._value(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, value, "must be a number")
        if not math.isfinite(value):
            raise self.fail(key, value, "must be a finite number")
        return value  # an int stays as written, so errors quote the value the user typed

    def optional_number(self, key: str) -> float | None:
        self._read.add(key)
        return self.number(key) if key in self._raw else None

    def string(self, key: str, default: str | Required = REQUIRED) -> str:
        value = self._value(key, default)
        if isinstance(value, str):
            return value
        override = self._origins.get(key_path(self.path, key))
        if override is not None:
            return override.raw  # text was wanted; the number was only a guess from the env
        raise self.fail(key, value, "must be a string")

    def optional_string(self, key: str) -> str | None:
        self._read.add(key)
        return self.string(key) if key in self._raw else None

    def boolean(self, key: str, default: bool | Required = REQUIRED) -> bool:
        value = self._value(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, value, "must be true or false")
        return value

    def table(self, key: str) -> Table:
        value = self._value(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, value, "must be a table")
        return Table(value, key_path(self.path, key), self._origins)

    def keys(self) -> Iterator[str]:
        return iter(self._raw)

    def tables(self) -> Iterator[tuple[str, Table]]:
        """Every entry, each of which must be a table (providers by name, routes by model)."""
        for key, value in self._raw.items():
            self._read.add(key)
            if not isinstance(value, dict):
                raise self.fail(key, value, "must be a table")
            yield key, Table(value, key_path(self.path, key), self._origins)

    def array_of_tables(self, key: str) -> list[Table]:
        value = self._value(key, REQUIRED)
        if not isinstance(value, list) or not value:
            raise self.fail(key, value, "must be a non-empty array of tables")
        tables = []
        for index, item in enumerate(value):
            path = f"{key_path(self.path, key)}[{index}]"
            if not isinstance(item, dict):
                raise _error(path, item, "must be a table", self._origins)
            tables.append(Table(item, path, self._origins))
        return tables

    def finish(self) -> None:
        """Reject the keys no reader asked for: they are typos or settings we do not have."""
        unknown = [key for key in self._raw if key not in self._read]
        if not unknown:
            return
        path = key_path(self.path, unknown[0])
        # The value is left out on purpose: a misplaced API key must not reach the logs.
        close = difflib.get_close_matches(unknown[0], sorted(self._read), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(sorted(self._read))}"
        raise ConfigError(
            f"{path} is not a known setting{origin_note(path, self._origins)}; {hint}"
        )


def int_at_least(table: Table, key: str, minimum: int, default: int | Required) -> int:
    value = table.integer(key, default)
    if value < minimum:
        raise table.fail(key, value, f"must be >= {minimum}")
    return value


def positive_number(table: Table, key: str, default: float | Required) -> float:
    value = table.number(key, default)
    if value <= 0:
        raise table.fail(key, value, "must be > 0")
    return value


def policy(build: Callable[[], _T], prefix: str, origins: Mapping[str, Override]) -> _T:
    """Build a policy, reporting its own range checks under the config file's key names."""
    try:
        return build()
    except PolicyError as err:
        message = f"{prefix}{err}"
        note = origin_note(message.partition("=")[0], origins)
        raise ConfigError(f"{message}{note}") from None
