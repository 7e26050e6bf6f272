"""``python -m mock_provider --host 127.0.0.1 --port 8001 [--seed N] ...``"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import Final

from aiohttp import web

from mock_provider.app import create_app
from mock_provider.config import config_from_args
from mock_provider.logs import configure_logging
from shared.eventloop import new_event_loop

SHUTDOWN_TIMEOUT_S: Final = 1.0
"""Hung "timeout" faults must not hold a stop for long."""


def main(argv: Sequence[str] | None = None) -> None:
    config = config_from_args(sys.argv[1:] if argv is None else argv)
    configure_logging(config.log_level)
    logging.getLogger("mock_provider").info(
        "mock provider starting",
        extra={"host": config.host, "port": config.port, "seed": config.seed},
    )
    web.run_app(
        create_app(config),
        loop=new_event_loop(),
        host=config.host,
        port=config.port,
        access_log=None,
        # A client that gives up on a hung or slow answer cancels its handler at once.
        handler_cancellation=True,
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
        print=None,
    )


if __name__ == "__main__":
    main()
