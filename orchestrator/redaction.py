"""Configured secrets never travel back out: whatever a provider sends us (an error message
that echoes the key it was given, an error event mid-stream) has every configured secret
replaced before it reaches a log line, an error body, an attempt log, a journey or metrics.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from orchestrator.config import AppConfig

REDACTED: Final = "[redacted]"
MIN_SECRET_CHARS: Final = 6  # shorter values would redact ordinary words


class Redactor:
    __slots__ = ("_secrets",)

    def __init__(self, secrets: Iterable[str | None]) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        found = {s for s in secrets if s is not None and len(s) >= MIN_SECRET_CHARS}
        self._secrets = tuple(sorted(found, key=len, reverse=True))

    @classmethod
    def for_config(cls, config: AppConfig) -> Redactor:
        keys = [provider.api_key for provider in config.providers.values()]
        return cls([*keys, config.admin.token])

    def text(self, text: str | None) -> str | None:
        if text is None or not self._secrets:
            return text
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text
