"""Secrets read from the environment (provider keys, the admin token), made safe to send.

A key pasted into a file or a Kubernetes secret often ends in a newline; sent as it is,
it would break the header it travels in on every call. Surrounding whitespace is
stripped; a key that still holds a character no HTTP header may carry stops start-up,
naming the variable and never the value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from orchestrator.config.sources import ConfigError

# RFC 9110 field-value: visible ASCII, space and tab inside; obs-text (0x80-0xFF) is
# allowed by the grammar but no provider issues such keys, and latin-1 framing would garble
# anything else.
_HEADER_SAFE: Final = re.compile(r"[\x21-\x7e](?:[\x20-\x7e\t]*[\x21-\x7e])?")


def secret_from_env(environ: Mapping[str, str], variable: str, where: str) -> str | None:
    """``environ[variable]`` stripped; None when unset or blank; ConfigError when unusable."""
    raw = environ.get(variable)
    if raw is None:
        return None
    secret = raw.strip()
    if not secret:
        return None
    if not _HEADER_SAFE.fullmatch(secret):
        raise ConfigError(
            f"${variable} (read by {where}) holds a character that cannot travel in an HTTP "
            "header (a control character or non-ASCII text); check how the secret was written"
        )
    return secret
