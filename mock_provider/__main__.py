"""``python -m mock_provider --host 127.0.0.1 --port 8001 [--seed N] ...``"""

from __future__ import annotations

import dataclasses
import logging
import random
import sys
from collections.abc import Sequence
from typing import Final

from mock_provider.app import create_app
from mock_provider.config import config_from_args
from mock_provider.logs import configure_logging
from mock_provider.state import SEED_BITS
from shared.serving import serve
from shared.version import package_version

SHUTDOWN_TIMEOUT_S: Final = 1.0
"""Hung "timeout" faults must not hold a stop for long."""


def main(argv: Sequence[str] | None = None) -> int:
    config = config_from_args(sys.argv[1:] if argv is None else argv)
    if config.seed is None:
        # Chosen here, not later, so the start-up line names the seed a replay needs.
        config = dataclasses.replace(config, seed=random.SystemRandom().getrandbits(SEED_BITS))
    configure_logging(config.log_level)
    log = logging.getLogger("mock_provider")
    fields = {
        "event": "started",
        "version": package_version(),
        "listen": f"http://{config.host}:{config.port}",
        "seed": config.seed,
    }
    return serve(
        create_app(config),
        name="mock_provider",
        host=config.host,
        port=config.port,
        on_listening=lambda: log.info("mock provider started", extra=fields),
        access_log=None,
        # A client that gives up on a hung or slow answer cancels its handler at once.
        handler_cancellation=True,
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
    )


if __name__ == "__main__":
    sys.exit(main())
