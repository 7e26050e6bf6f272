"""``python -m orchestrator``: load and validate the configuration, then serve."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from collections.abc import Sequence
from typing import Final

from aiohttp import web

from orchestrator.app import AccessLine, create_app
from orchestrator.config import AppConfig, ConfigError, load_config
from orchestrator.config.sources import CONFIG_PATH_ENV, MOCK_BASE_URL_ENV
from orchestrator.telemetry.logs import ACCESS_LOGGER, configure_logging
from shared.serving import serve
from shared.version import package_version

SHUTDOWN_TIMEOUT_S: Final = 30.0
log: Final = logging.getLogger("orchestrator")


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m orchestrator",
        description="The LLM reliability orchestrator: OpenAI-compatible chat completions "
        "made reliable (retries, failover, circuit breakers, one deadline).",
        epilog="Every setting can also be given as ORCH__SECTION__KEY=value "
        f"(e.g. ORCH__RETRY__MAX_ATTEMPTS_TOTAL=4); {MOCK_BASE_URL_ENV} points every provider "
        "at one base URL. Provider keys come from the variables the providers name "
        "(OPENAI_API_KEY, ANTHROPIC_API_KEY by default), the admin token from ORCH_ADMIN_TOKEN.",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help=f"TOML configuration file (default: ${CONFIG_PATH_ENV}, else the built-in "
        "routes against the mock provider on 127.0.0.1:8001)",
    )
    parser.add_argument(
        "--host", help="listen address (default: server.host, 127.0.0.1; ORCH__SERVER__HOST)"
    )
    parser.add_argument(
        "--port", type=int, help="listen port (default: server.port, 8080; ORCH__SERVER__PORT)"
    )
    parser.add_argument(
        "--check-config", action="store_true", help="validate the configuration and exit"
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    return parser.parse_args(argv)


def _with_listen_overrides(config: AppConfig, args: argparse.Namespace) -> AppConfig:
    server = config.server
    if args.host:
        server = dataclasses.replace(server, host=args.host)
    if args.port:
        server = dataclasses.replace(server, port=args.port)
    return dataclasses.replace(config, server=server)


def _config_source(args: argparse.Namespace) -> str:
    return args.config or os.environ.get(CONFIG_PATH_ENV) or "built-in defaults"


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
    app = create_app(config)
    deployments = {
        f"{d.provider}/{d.model}" for route in config.routes.values() for d in route.deployments
    }
    fields = {
        "event": "started",
        "version": package_version(),
        "config_source": _config_source(args),
        "listen": f"http://{config.server.host}:{config.server.port}",
        "routes": len(config.routes),
        "deployments": len(deployments),
    }

    async def stopped(_: web.Application) -> None:
        log.info("stopped", extra={"event": "stopped", "version": fields["version"]})

    app.on_cleanup.append(stopped)
    return serve(
        app,
        name="orchestrator",
        host=config.server.host,
        port=config.server.port,
        on_listening=lambda: log.info("started", extra=fields),
        access_log=logging.getLogger(ACCESS_LOGGER),
        access_log_class=AccessLine,
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
        # A client that hangs up mid-stream cancels its handler, which closes the upstream
        # request at once: nothing keeps generating (and billing) for nobody.
        handler_cancellation=True,
    )


if __name__ == "__main__":
    sys.exit(main())
