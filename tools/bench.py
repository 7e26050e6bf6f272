"""``make bench``: the orchestrator's speed against its targets, in one bounded run.

Measured on loopback, with the mock provider healthy (no faults, no added latency):

1. **Added latency**: p50/p95/p99 of sequential requests on one keep-alive connection,
   to the mock directly and through the orchestrator, interleaved request by request so
   the client's overhead and the machine's drift are the same for both.
2. **Throughput** at 32 connections for a fixed time: the orchestrator against a minimal
   aiohttp pass-through proxy (``tools.passthrough_proxy``), each pinned to one core,
   with the mock and the load generator (``wrk``, else ``tools.loadgen``) on the other.
   The mock alone is measured the same way, and every process's CPU time is read from
   ``/proc``: when the proxy does not use its whole core, the mock or the load generator
   capped the run and the request-rate ratio flatters the slower server; CPU-seconds per
   request is then the fair comparison, so both are reported.
3. **Start-up time** (spawn to the first 200 on ``/health``) and **idle memory** (VmRSS
   right after start-up) of the orchestrator.

Prints a table with each target and PASS/MISS and writes ``.bench/results.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import platform
import shutil
import statistics
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import orjson

from tools.bench_processes import (
    REPO_ROOT,
    Service,
    ServiceError,
    children_cpu_seconds,
    cpu_seconds,
    machine_busy_seconds,
    own_cpu_seconds,
    rss_mb,
    start_service,
)
from tools.bench_report import checks_from, render_report
from tools.loadgen import (
    LoadError,
    LoadGenerator,
    find_load_generator,
    percentile,
    sequential_latencies_s,
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


def latency_summary_ms(sorted_s: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": percentile(sorted_s, 0.50) * 1000.0,
        "p95_ms": percentile(sorted_s, 0.95) * 1000.0,
        "p99_ms": percentile(sorted_s, 0.99) * 1000.0,
        "mean_ms": statistics.fmean(sorted_s) * 1000.0,
    }


def measure_latency(
    mock: Service, proxy: Service, orchestrator: Service, settings: BenchSettings
) -> dict[str, Any]:
    """Mock direct vs through the orchestrator; the proxy's hop is the yardstick, as it
    shows what any aiohttp hop costs before the orchestrator does anything."""
    rounds = [
        _latency_round(mock, proxy, orchestrator, settings) for _ in range(settings.latency_rounds)
    ]
    quietest = min(rounds, key=lambda r: r["mock"]["p50_ms"])
    return {
        **quietest,
        "rounds": len(rounds),
        "p50_ms_by_round": [
            {name: r[name]["p50_ms"] for name in ("mock", "proxy", "orchestrator")}
            | {"added": r["added"]["p50_ms"], "proxy_added": r["proxy_added"]["p50_ms"]}
            for r in rounds
        ],
    }


def _latency_round(
    mock: Service, proxy: Service, orchestrator: Service, settings: BenchSettings
) -> dict[str, Any]:
    services = {"mock": mock, "proxy": proxy, "orchestrator": orchestrator}
    targets = {name: service.url + CHAT_PATH for name, service in services.items()}
    started = time.perf_counter()
    with cpu_use(services) as used:
        samples = asyncio.run(
            sequential_latencies_s(
                targets, REQUEST_BODY, settings.latency_requests, settings.latency_warmup_requests
            )
        )
    elapsed_s = time.perf_counter() - started
    summaries = {name: latency_summary_ms(values) for name, values in samples.items()}
    direct = summaries["mock"]
    # Differences of percentiles, not percentiles of differences: the samples are
    # independent requests, so this is the honest reading of "added at p50".
    added = {
        f"{name}_added": {key: summaries[name][key] - direct[key] for key in direct}
        for name in ("proxy", "orchestrator")
    }
    return {
        "requests": settings.latency_requests,
        **summaries,
        "added": added["orchestrator_added"],
        "proxy_added": added["proxy_added"],
        "other_core_share": used["other"] / elapsed_s,
    }


def measure_throughput(
    target: Service,
    watched: Mapping[str, Service],
    loadgen: LoadGenerator,
    settings: BenchSettings,
    warm_up: bool = True,
) -> dict[str, Any]:
    """Load ``target`` for the set time; the core share and CPU per request of each process."""
    url = target.url + CHAT_PATH
    if warm_up and settings.throughput_warmup_s > 0:
        # Lets the servers' upstream pools grow to full concurrency before measuring.
        loadgen.run(url, settings.connections, settings.throughput_warmup_s)
    with cpu_use(watched) as used:
        result = loadgen.run(url, settings.connections, settings.throughput_duration_s)
    if result.non_2xx or result.errors or result.requests == 0:
        raise LoadError(
            f"{target.name} under load: {result.requests} answers, {result.non_2xx} non-2xx, "
            f"{result.errors} socket errors; the bench needs healthy answers"
        )
    return {
        "requests": result.requests,
        "elapsed_s": result.elapsed_s,
        "requests_per_s": result.requests_per_s,
        "core_share": {name: cpu / result.elapsed_s for name, cpu in used.items()},
        "cpu_us_per_request": {name: cpu / result.requests * 1e6 for name, cpu in used.items()},
    }


@contextlib.contextmanager
def cpu_use(watched: Mapping[str, Service]) -> Iterator[dict[str, float]]:
    """CPU-seconds used during the block: each watched service, the load generator (a
    child waited for inside the block) and everything else on the machine ("other")."""
    used: dict[str, float] = {}
    before = {name: cpu_seconds(service.pid) for name, service in watched.items()}
    loadgen_before, own_before = children_cpu_seconds(), own_cpu_seconds()
    busy_before = machine_busy_seconds()
    yield used
    busy = machine_busy_seconds() - busy_before
    used.update({name: cpu_seconds(s.pid) - before[name] for name, s in watched.items()})
    used["loadgen"] = children_cpu_seconds() - loadgen_before
    # Other engineers' tests or builds on the same cores make every figure noisier.
    ours = sum(used.values()) + own_cpu_seconds() - own_before
    used["other"] = max(0.0, busy - ours)


def combined(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One target's runs added up: all its requests over all its seconds and CPU time."""
    requests = sum(run["requests"] for run in runs)
    elapsed_s = sum(run["elapsed_s"] for run in runs)
    cpu_s = {
        name: sum(run["core_share"][name] * run["elapsed_s"] for run in runs)
        for name in runs[0]["core_share"]
    }
    return {
        "requests": requests,
        "elapsed_s": elapsed_s,
        "requests_per_s": requests / elapsed_s,
        "core_share": {name: cpu / elapsed_s for name, cpu in cpu_s.items()},
        "cpu_us_per_request": {name: cpu / requests * 1e6 for name, cpu in cpu_s.items()},
        "runs": len(runs),
    }


def capped_by(run: Mapping[str, Any], server: str, client_side: Sequence[str]) -> str:
    """What limited a run: the server when it used (nearly) all of its core, else the
    client-side core (mock and load generator) when that was full."""
    shares = run["core_share"]
    if shares[server] >= SATURATED_CORE_SHARE:
        return server
    if sum(shares[name] for name in client_side) >= SATURATED_CORE_SHARE:
        return "+".join(client_side)
    return "no saturated core"


def compare_throughput(runs: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    proxy, orchestrator = runs["proxy"], runs["orchestrator"]
    client_side = ("mock", "loadgen")
    return {
        "rps_ratio": orchestrator["requests_per_s"] / proxy["requests_per_s"],
        # Requests one core serves, orchestrator over proxy: holds whatever capped the runs.
        "cpu_ratio": proxy["cpu_us_per_request"]["proxy"]
        / orchestrator["cpu_us_per_request"]["orchestrator"],
        "capped_by": {
            "mock": capped_by(runs["mock"], "mock", ("loadgen",)),
            "proxy": capped_by(proxy, "proxy", client_side),
            "orchestrator": capped_by(orchestrator, "orchestrator", client_side),
        },
    }


def measure_startup(settings: BenchSettings, mock: Service) -> tuple[dict[str, Any], Service]:
    """Start the orchestrator ``startup_runs`` times; the last one stays up for the load."""
    env = {"ORCH_MOCK_BASE_URL": mock.url, **settings.orchestrator_env}
    ready_s: list[float] = []
    idle_mb: list[float] = []
    for run in range(settings.startup_runs):
        service = start_service(
            "orchestrator",
            ["orchestrator"],
            core=settings.server_core,
            log_dir=settings.work_dir,
            env=env,
        )
        ready_s.append(service.ready_s)
        idle_mb.append(rss_mb(service.pid))
        if run < settings.startup_runs - 1:
            service.stop()
    summary = {
        "ready_s": ready_s,
        "ready_median_s": statistics.median(ready_s),
        "idle_rss_mb": idle_mb,
        "idle_rss_max_mb": max(idle_mb),
    }
    return summary, service


@contextlib.contextmanager
def stopped_at_exit() -> Iterator[list[Service]]:
    services: list[Service] = []
    try:
        yield services
    finally:
        for service in reversed(services):
            service.stop()


def run_bench(settings: BenchSettings, install_wrk: bool) -> dict[str, Any]:
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    loadgen = find_load_generator(settings.client_core, settings.work_dir, install_wrk)
    loadgen.prepare(REQUEST_BODY)
    with stopped_at_exit() as services:
        mock = start_service(
            "mock", MOCK_ARGS, core=settings.client_core, log_dir=settings.work_dir
        )
        services.append(mock)
        print("bench: start-up time and idle memory ...", flush=True)
        startup, orchestrator = measure_startup(settings, mock)
        services.append(orchestrator)
        proxy_args = ["tools.passthrough_proxy", "--upstream", mock.url]
        proxy = start_service(
            "proxy", proxy_args, core=settings.server_core, log_dir=settings.work_dir
        )
        services.append(proxy)
        print("bench: sequential latency: mock, proxy, orchestrator ...", flush=True)
        latency = measure_latency(mock, proxy, orchestrator, settings)
        print("bench: throughput of the mock, the proxy, the orchestrator ...", flush=True)
        rounds = [
            {
                "mock": measure_throughput(mock, {"mock": mock}, loadgen, settings, first),
                "proxy": measure_throughput(
                    proxy, {"proxy": proxy, "mock": mock}, loadgen, settings, first
                ),
                "orchestrator": measure_throughput(
                    orchestrator,
                    {"orchestrator": orchestrator, "mock": mock},
                    loadgen,
                    settings,
                    first,
                ),
            }
            for first in [True] + [False] * (settings.throughput_rounds - 1)
        ]
        runs = {name: combined([r[name] for r in rounds]) for name in rounds[0]}
        startup["rss_after_load_mb"] = rss_mb(orchestrator.pid)
    return {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "settings": {**dataclasses.asdict(settings), "output": str(settings.output)},
        "startup": startup,
        "latency": latency,
        "throughput": {
            **runs,
            "comparison": compare_throughput(runs),
            "rounds": rounds,
            "loadgen": loadgen.kind,
            "pinned": settings.server_core is not None,
        },
    }


def _env_pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return name, value


def _parser() -> argparse.ArgumentParser:
    defaults = BenchSettings()
    parser = argparse.ArgumentParser(
        prog="python -m tools.bench", description="The orchestrator's speed against its targets."
    )
    add = parser.add_argument
    add("--requests", type=int, default=defaults.latency_requests,
        help="sequential requests per target, after warm-up")  # fmt: skip
    add("--duration-s", type=float, default=defaults.throughput_duration_s,
        help="seconds of load per throughput target (wrk: whole seconds)")  # fmt: skip
    add("--connections", type=int, default=defaults.connections)
    add("--output", type=Path, default=defaults.output, help="results JSON (relative: repo)")
    add("--orchestrator-env", type=_env_pair, action="append", default=[], metavar="NAME=VALUE",
        help="extra orchestrator environment, e.g. ORCH__SERVER__LOG_LEVEL=WARNING")  # fmt: skip
    add("--quick", action="store_true", help="smoke run: 300 requests, 2 s loads (rough)")
    add("--strict", action="store_true", help="exit 1 when a target is missed")
    add("--no-install", action="store_true",
        help="never apt-get install wrk; use the Python load generator instead")  # fmt: skip
    return parser


@dataclass(frozen=True, slots=True)
class Invocation:
    settings: BenchSettings
    install_wrk: bool
    strict: bool


def parse_invocation(argv: Sequence[str] | None) -> Invocation:
    parser = _parser()
    args = parser.parse_args(argv)
    pin = shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2
    try:
        settings = BenchSettings(
            latency_requests=args.requests,
            throughput_duration_s=args.duration_s,
            connections=args.connections,
            output=args.output,
            orchestrator_env=dict(args.orchestrator_env),
        )
        if args.quick:
            settings = dataclasses.replace(settings, **QUICK)  # type: ignore[arg-type]
        if not pin:
            settings = dataclasses.replace(settings, server_core=None, client_core=None)
    except ValueError as exc:
        parser.error(str(exc))
    return Invocation(settings, install_wrk=not args.no_install, strict=args.strict)


def main(argv: Sequence[str] | None = None) -> int:
    invocation = parse_invocation(argv)
    settings = invocation.settings
    if settings.server_core is None:
        print("bench: fewer than 2 cores or no taskset: processes are not pinned", flush=True)
    try:
        results = run_bench(settings, invocation.install_wrk)
    except (ServiceError, LoadError) as exc:
        print(f"bench: could not measure: {exc}", file=sys.stderr)
        return 2
    checks = checks_from(results)
    results["checks"] = [dataclasses.asdict(check) for check in checks]
    output = REPO_ROOT / settings.output
    output.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2) + b"\n")
    print(render_report(results, checks))
    print(f"\nresults written to {output}")
    return 1 if invocation.strict and not all(check.passed for check in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
