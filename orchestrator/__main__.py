"""``python -m orchestrator``: load and validate the configuration, then serve."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from collections.abc import Sequence

from aiohttp import web

from orchestrator.app import create_app
from orchestrator.config import AppConfig, ConfigError, load_config
from orchestrator.http.context import AccessLine
from orchestrator.telemetry.logs import ACCESS_LOGGER, configure_logging
from shared.eventloop import new_event_loop


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m orchestrator", description="The LLM reliability orchestrator."
    )
    parser.add_argument("--config", help="TOML file (default: $ORCH_CONFIG, else built-ins)")
    parser.add_argument("--host", help="listen address (overrides server.host)")
    parser.add_argument("--port", type=int, help="listen port (overrides server.port)")
    parser.add_argument(
        "--check-config", action="store_true", help="validate the configuration and exit"
    )
    return parser.parse_args(argv)


def _with_listen_overrides(config: AppConfig, args: argparse.Namespace) -> AppConfig:
    server = config.server
    if args.host:
        server = dataclasses.replace(server, host=args.host)
    if args.port:
        server = dataclasses.replace(server, port=args.port)
    return dataclasses.replace(config, server=server)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        config = _with_listen_overrides(load_config(args.config, os.environ), args)
    except ConfigError as exc:
        print(f"orchestrator: invalid configuration: {exc}", file=sys.stderr)
        return 2
    if args.check_config:
        print("orchestrator: configuration is valid")
        return 0
    configure_logging(config.server.log_level)
    web.run_app(
        create_app(config),
        loop=new_event_loop(),
        host=config.server.host,
        port=config.server.port,
        access_log=logging.getLogger(ACCESS_LOGGER),
        access_log_class=AccessLine,
        print=None,
        shutdown_timeout=30.0,
        # A client that hangs up mid-stream cancels its handler, which closes the upstream
        # request at once: nothing keeps generating (and billing) for nobody.
        handler_cancellation=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
