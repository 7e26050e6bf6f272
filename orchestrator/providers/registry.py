"""Wire format name -> its adapter: the one list to extend when a format is added.

The configuration validates ``wire_format`` against :func:`wire_formats`, the engine finds
each deployment's adapter with :func:`adapter_for`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from orchestrator.providers.anthropic import ANTHROPIC_ADAPTER
from orchestrator.providers.base import ProviderAdapter
from orchestrator.providers.openai import OPENAI_ADAPTER

ADAPTERS: Final[Mapping[str, ProviderAdapter]] = MappingProxyType(
    {
        "openai": OPENAI_ADAPTER,
        "anthropic": ANTHROPIC_ADAPTER,
    }
)
"""Each wire format's shared, stateless adapter."""


def wire_formats() -> frozenset[str]:
    return frozenset(ADAPTERS)


def adapter_for(wire_format: str) -> ProviderAdapter:
    """The shared adapter for ``wire_format``; ValueError for an unknown one."""
    adapter = ADAPTERS.get(wire_format)
    if adapter is None:
        supported = "', '".join(sorted(ADAPTERS))
        raise ValueError(f"unknown wire format {wire_format!r}; supported: '{supported}'")
    return adapter
