"""The event loop every service runs on."""

from __future__ import annotations

import asyncio
import os

EVENT_LOOP_ENV = "LLMO_EVENT_LOOP"
"""Set to ``asyncio`` to run on the standard loop even where uvloop is installed."""


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it exists (Linux, macOS): the same asyncio API at a lower per-request
    cost than the pure-Python loop; the standard loop elsewhere or when asked for."""
    if os.environ.get(EVENT_LOOP_ENV, "uvloop") == "asyncio":
        return asyncio.new_event_loop()
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
