"""What one ``make bench`` run measures and how long: the settings and their bounds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import orjson

from tools.bench_processes import (
    REPO_ROOT,
)

CHAT_PATH: Final = "/v1/chat/completions"
REQUEST_BODY: Final = orjson.dumps(
    {"model": "gpt-4", "messages": [{"role": "user", "content": "Say hello"}]}
)
SATURATED_CORE_SHARE: Final = 0.9
"""A process using at least this share of its core is taken to be what capped a run."""
MOCK_ARGS: Final = ("mock_provider", "--seed", "1", "--log-level", "WARNING")


@dataclass(frozen=True, slots=True)
class BenchSettings:
    latency_requests: int = 2000
    latency_warmup_requests: int = 300
    throughput_duration_s: float = 4.0
    throughput_warmup_s: float = 2.0
    connections: int = 32
    # The targets are loaded in turn, this many times each, and each target's runs are
    # added up: on a VM whose speed drifts by tens of percent from minute to minute, the
    # proxy and the orchestrator then see the same mix of fast and slow moments.
    throughput_rounds: int = 4
    # The sequential run is repeated and the round where the mock called directly was
    # fastest is reported: a busy hypervisor slows every hop of a round alike, and the
    # choice never looks at the proxy's or the orchestrator's own figures.
    latency_rounds: int = 3
    startup_runs: int = 3
    server_core: int | None = 0  # the orchestrator and the proxy; None: not pinned
    client_core: int | None = 1  # the mock and the load generator
    output: Path = Path(".bench/results.json")
    orchestrator_env: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        in_range = {
            "latency_requests": self.latency_requests >= 1,
            "latency_warmup_requests": self.latency_warmup_requests >= 0,
            "throughput_duration_s": self.throughput_duration_s > 0,
            "throughput_warmup_s": self.throughput_warmup_s >= 0,
            "connections": self.connections >= 1,
            "throughput_rounds": self.throughput_rounds >= 1,
            "latency_rounds": self.latency_rounds >= 1,
            "startup_runs": self.startup_runs >= 1,
        }
        for name, ok in in_range.items():
            if not ok:
                raise ValueError(f"{name}={getattr(self, name)!r} is out of range")

    @property
    def work_dir(self) -> Path:
        return (REPO_ROOT / self.output).parent


QUICK: Final = {
    "latency_requests": 300,
    "latency_warmup_requests": 50,
    "throughput_duration_s": 2.0,
    "throughput_warmup_s": 1.0,
    "throughput_rounds": 1,
    "latency_rounds": 1,
    "startup_runs": 1,
}
