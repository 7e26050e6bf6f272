"""The mock's start-up settings: command line first, then ``MOCK_*`` environment variables."""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from shared.version import package_version

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8001
DEFAULT_TOKEN_INTERVAL_S: Final = 0.005
"""Pause between streamed tokens: visible in a demo, short enough for tests."""
DEFAULT_LOG_LEVEL: Final = "INFO"
DEFAULT_LOG_CAPACITY: Final = 10_000
MAX_PORT: Final = 65_535


@dataclass(frozen=True, slots=True)
class MockConfig:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    # None: a random seed chosen at start-up, shown by GET /config so a run can be replayed.
    seed: int | None = None
    # None: any key (or none) is accepted for that format.
    openai_key: str | None = None
    anthropic_key: str | None = None
    token_interval_s: float = DEFAULT_TOKEN_INTERVAL_S
    log_level: str = DEFAULT_LOG_LEVEL
    log_capacity: int = DEFAULT_LOG_CAPACITY

    def __post_init__(self) -> None:
        if not 0 <= self.port <= MAX_PORT:
            raise ValueError(f"port must be 0..{MAX_PORT}, got {self.port}")
        if self.seed is not None and self.seed < 0:
            raise ValueError(f"seed must not be negative, got {self.seed}")
        if self.token_interval_s < 0:
            raise ValueError(f"token_interval_s must not be negative, got {self.token_interval_s}")
        if self.log_level.upper() not in logging.getLevelNamesMapping():
            raise ValueError(f"unknown log level {self.log_level!r}")
        if self.log_capacity < 1:
            raise ValueError(f"log_capacity must be at least 1, got {self.log_capacity}")


def _parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mock_provider",
        description="OpenAI + Anthropic simulator with fault injection.",
    )
    parser.add_argument(
        "--host",
        default=env.get("MOCK_HOST", DEFAULT_HOST),
        help=f"listen address (default {DEFAULT_HOST}; MOCK_HOST)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=env.get("MOCK_PORT", DEFAULT_PORT),
        help=f"listen port (default {DEFAULT_PORT}; MOCK_PORT)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=env.get("MOCK_SEED"),
        help="seed of the fault plans' random source (default: a random one, logged at "
        "start-up and shown by GET /config; MOCK_SEED)",
    )
    parser.add_argument(
        "--openai-key",
        default=env.get("MOCK_OPENAI_KEY") or None,
        help="key the OpenAI endpoint demands (default: none; MOCK_OPENAI_KEY)",
    )
    parser.add_argument(
        "--anthropic-key",
        default=env.get("MOCK_ANTHROPIC_KEY") or None,
        help="key the Anthropic endpoint demands (default: none; MOCK_ANTHROPIC_KEY)",
    )
    parser.add_argument(
        "--token-interval-s",
        type=float,
        default=env.get("MOCK_TOKEN_INTERVAL_S", DEFAULT_TOKEN_INTERVAL_S),
        help=f"pause between streamed tokens, seconds (default {DEFAULT_TOKEN_INTERVAL_S}; "
        "MOCK_TOKEN_INTERVAL_S)",
    )
    parser.add_argument(
        "--log-level",
        default=env.get("MOCK_LOG_LEVEL", DEFAULT_LOG_LEVEL),
        help=f"DEBUG, INFO, WARNING... (default {DEFAULT_LOG_LEVEL}; MOCK_LOG_LEVEL)",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    return parser


def config_from_args(argv: Sequence[str], env: Mapping[str, str] | None = None) -> MockConfig:
    """Build the config; a bad value exits with argparse's usage message naming the option."""
    environ = os.environ if env is None else env
    parser = _parser(environ)
    args = parser.parse_args(argv)
    try:
        # argparse applies type= to string defaults, so env values are converted too.
        return MockConfig(
            host=args.host,
            port=args.port,
            seed=args.seed,
            openai_key=args.openai_key,
            anthropic_key=args.anthropic_key,
            token_interval_s=args.token_interval_s,
            log_level=args.log_level.upper(),
        )
    except ValueError as exc:
        parser.error(str(exc))
