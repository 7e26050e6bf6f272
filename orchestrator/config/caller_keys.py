"""``[auth]``: caller keys read at start-up, kept only as SHA-256 digests with their names."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Final

from orchestrator.config.sections import AuthConfig
from orchestrator.config.sources import ConfigError
from orchestrator.config.table import Table

_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_SEPARATORS: Final = re.compile(r"[,\n]")
MIN_KEY_CHARS: Final = 16


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def read_auth(table: Table, environ: Mapping[str, str]) -> AuthConfig:
    defaults = AuthConfig()
    keys_env = table.string("keys_env", defaults.keys_env or "") or None
    keys_file = table.optional_string("keys_file")
    table.finish()
    pairs: list[tuple[str, str, str]] = []  # (name, key, where)
    if keys_env:
        pairs.extend(_pairs(environ.get(keys_env, ""), f"${keys_env}"))
    if keys_file:
        pairs.extend(_pairs(_read(keys_file), keys_file))
    digests: dict[str, tuple[str, bytes]] = {}
    for name, key, where in pairs:
        if name in digests:
            raise ConfigError(f"caller key name {name!r} is given twice ({where})")
        digests[name] = (name, digest(key))
    return AuthConfig(keys_env, keys_file, tuple(digests.values()))


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except OSError as err:
        raise ConfigError(f"auth.keys_file {path!r} cannot be read: {err.strerror}") from None


def _pairs(text: str, where: str) -> list[tuple[str, str, str]]:
    pairs = []
    for number, item in enumerate(_SEPARATORS.split(text), start=1):
        entry = item.strip()
        if not entry or entry.startswith("#"):
            continue
        name, colon, key = entry.partition(":")
        name, key = name.strip(), key.strip()
        # The message names the entry by position: a key must never reach a log.
        if not colon or not _NAME.fullmatch(name):
            raise ConfigError(f"caller key entry {number} in {where} is not 'name:key'")
        if len(key) < MIN_KEY_CHARS or any(c.isspace() or not c.isprintable() for c in key):
            raise ConfigError(
                f"caller key {name!r} in {where} must be at least {MIN_KEY_CHARS} printable "
                "characters without spaces"
            )
        pairs.append((name, key, where))
    return pairs
