"""Running a service: ``web.run_app`` with an honest start and a clear failure to listen.

The start-up line is written only once the socket listens (run_app's ``print`` hook runs
after its sites started), and a port already in use is one line naming it and exit code 2,
not a traceback.
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Callable
from typing import Any, Final

from aiohttp import web

from shared.eventloop import new_event_loop

EXIT_CANNOT_LISTEN: Final = 2


def serve(
    app: web.Application,
    *,
    name: str,
    host: str,
    port: int,
    on_listening: Callable[[], None],
    **run_app_options: Any,
) -> int:
    """Serve ``app`` until SIGINT/SIGTERM; 0 after a clean stop, 2 when it cannot listen."""
    try:
        web.run_app(
            app,
            loop=new_event_loop(),
            host=host,
            port=port,
            print=lambda *_: on_listening(),
            **run_app_options,
        )
    except OSError as exc:
        reason = "the address is already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        print(f"{name}: cannot listen on {host}:{port}: {reason or exc}", file=sys.stderr)
        return EXIT_CANNOT_LISTEN
    return 0
