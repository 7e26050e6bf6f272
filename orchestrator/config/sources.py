"""Where settings come from: built-in defaults, a TOML file, then the environment.

The result is one plain TOML-shaped document plus a note of which keys the environment
set, so :mod:`orchestrator.config` can validate it all in one place and say, when a value
is bad, which environment variable put it there.
"""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Mapping
from typing import Any, Final, NamedTuple

CONFIG_PATH_ENV: Final = "ORCH_CONFIG"
MOCK_BASE_URL_ENV: Final = "ORCH_MOCK_BASE_URL"
OVERRIDE_PREFIX: Final = "ORCH__"
OVERRIDE_SEPARATOR: Final = "__"

_BARE_KEY: Final = re.compile(r"[A-Za-z0-9_-]+")

Document = dict[str, Any]


class ConfigError(ValueError):
    """Start-up configuration is invalid; the message names the key and the bad value."""


class Override(NamedTuple):
    """A setting the environment supplied: the variable's name and its raw text."""

    env_name: str
    raw: str


def key_path(parent: str, key: str) -> str:
    """``parent.key`` as TOML spells it: keys with dots or spaces are quoted."""
    part = key if _BARE_KEY.fullmatch(key) else f'"{key}"'
    return f"{parent}.{part}" if parent else part


def read_toml_file(path: str) -> Document:
    try:
        with open(path, "rb") as file:
            return tomllib.load(file)
    except OSError as err:
        raise ConfigError(f"config file {path!r} cannot be read: {err.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path!r} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"config file {path!r} is not valid TOML: {err}") from None


def layered_document(
    defaults: Document, path: str | None, environ: Mapping[str, str]
) -> tuple[Document, dict[str, Override]]:
    """Defaults, then the file (``path`` or ``$ORCH_CONFIG``), then environment overrides.

    A top-level table in the file replaces the default one whole: a file that lists its own
    providers must not silently inherit ours.
    """
    document = copy.deepcopy(defaults)
    file_path = path if path is not None else environ.get(CONFIG_PATH_ENV) or None
    if file_path is not None:
        document.update(read_toml_file(file_path))
    origins: dict[str, Override] = {}
    mock_base_url = environ.get(MOCK_BASE_URL_ENV)
    if mock_base_url:
        _point_providers_at(document, mock_base_url, origins)
    # Sorted, so the outcome never depends on the environment's iteration order.
    for name in sorted(environ):
        if name.startswith(OVERRIDE_PREFIX):
            _apply_override(document, name, environ[name], origins)
    return document, origins


def parse_scalar(raw: str) -> object:
    """The TOML integer, float or boolean ``raw`` spells, else ``raw`` itself."""
    if "\n" in raw or "\r" in raw:
        return raw
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw
    return value if isinstance(value, bool | int | float) else raw


def _point_providers_at(document: Document, base_url: str, origins: dict[str, Override]) -> None:
    providers = document.get("providers")
    if not isinstance(providers, dict):
        return  # malformed: validation reports it with the file's own key
    for name, provider in providers.items():
        if isinstance(provider, dict):
            provider["base_url"] = base_url
            path = key_path(key_path("providers", name), "base_url")
            origins[path] = Override(MOCK_BASE_URL_ENV, base_url)


def _apply_override(
    document: Document, env_name: str, raw: str, origins: dict[str, Override]
) -> None:
    segments = env_name[len(OVERRIDE_PREFIX) :].split(OVERRIDE_SEPARATOR)
    if not all(segments):
        raise ConfigError(
            f"{env_name}: an override is ORCH__<SECTION>__<KEY> with no empty parts,"
            " e.g. ORCH__SERVER__PORT"
        )
    node = document
    path = ""
    for segment in segments[:-1]:
        key = _matching_key(node, segment)
        path = key_path(path, key)
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{env_name}: {path} is a value, not a table of settings")
        node = child
    key = _matching_key(node, segments[-1])
    path = key_path(path, key)
    node[key] = parse_scalar(raw)
    origins[path] = Override(env_name, raw)


def _matching_key(table: Mapping[str, Any], segment: str) -> str:
    """Environment names are upper case; match an existing key regardless of case."""
    wanted = segment.lower()
    if wanted in table:
        return wanted
    return next((key for key in table if key.lower() == wanted), wanted)
